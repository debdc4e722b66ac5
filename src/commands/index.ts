/**
 * Every command handler: each takes the home directory and the parsed arguments and returns
 * data (src/cli/ prints it as text or --json). They read and change config.json through
 * src/config/, and reach a running daemon or relay through its control socket (src/control/).
 * `joinCommand` (join-command.ts) and `recoverCommand` (recover-command.ts) are not here: they load libp2p, so the CLI imports it on demand.
 */
export { initCommand, idCommand, statusCommand } from './home-commands.ts'
export { folderAddCommand, folderListCommand, folderRemoveCommand, folderPauseCommand, folderRescanCommand, confirmDeletesCommand, type FolderListEntry, type FolderRemoveResult } from './folder-commands.ts'
export { deviceAddCommand, deviceListCommand, deviceRemoveCommand, deviceRenameCommand, type DeviceListEntry } from './device-commands.ts'
export { shareCommand, unshareCommand, inviteCommand, revertCommand } from './sharing-commands.ts'
export { conflictsCommand, revisionsCommand, deletedCommand, restoreCommand } from './history-commands.ts'
export { relayQuotaSetCommand, relayVerifyCommand } from './relay-commands.ts'
export { limitsSetCommand, limitsShowCommand, type LimitsSetResult, type LimitsShowResult } from './limits-commands.ts'
export { backupKeyCommand, rekeyCommand, type BackupKeyResult, type RekeyCommandResult } from './key-commands.ts'
