/** what a folder reports: one part of the typed event stream (src/events/event-catalog.ts) */
export type { FolderEvent } from '../events/event-catalog.ts'
