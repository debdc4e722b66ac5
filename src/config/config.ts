import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-write.ts'
import { checkConfig, ConfigError, FOLDER_ID_PATTERN, type CheckedConfig } from './check-config.ts'

export { ConfigError, ROLES, checkConfig, type CheckedConfig } from './check-config.ts'

export type { Config, DeviceConfig, FolderConfig, Role } from './config-types.ts'
import type { Config } from './config-types.ts'

export const CONFIG_FILE = 'config.json'

export function emptyConfig (): Config {
  return { version: 1, devices: {}, folders: {} }
}

/**
 * The config with its bad entries left out (see checkConfig); `skipped` names them. Throws
 * ConfigError when the file is missing, not JSON, or unusable as a whole.
 */
export async function readConfig (home: string): Promise<CheckedConfig> {
  let text: string
  try {
    text = await readFile(join(home, CONFIG_FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`no ferry identity in ${home}`, 'ERR_FERRY_NOT_INITIALIZED', 'run `ferry init` first, or pass --home')
    }
    throw new ConfigError(`cannot read ${join(home, CONFIG_FILE)}: ${(err as Error).message}`, 'ERR_FERRY_BAD_CONFIG')
  }
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch {
    throw new ConfigError(`${join(home, CONFIG_FILE)} is not valid JSON`, 'ERR_FERRY_BAD_CONFIG')
  }
  return checkConfig(parsed, join(home, CONFIG_FILE))
}

/** The config with its bad entries left out (the daemon reports them: readConfig). */
export async function loadConfig (home: string): Promise<Config> {
  return (await readConfig(home)).config
}

export async function saveConfig (home: string, config: Config): Promise<void> {
  await writeFileAtomic(join(home, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n', 0o600)
}

/** Folder ids travel in records and protocol ids: keep them boring. */
export function validateFolderId (id: string): string {
  if (!FOLDER_ID_PATTERN.test(id)) {
    throw new ConfigError(`invalid folder id ${JSON.stringify(id)}`, 'ERR_FERRY_BAD_FOLDER_ID', 'use 1-64 letters, digits, ".", "_" or "-"')
  }
  return id
}
