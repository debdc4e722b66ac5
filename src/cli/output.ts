import { printableText } from '../text/printable.ts'

/** one line (or block) on stdout */
export function out (line: string): void { process.stdout.write(line + '\n') }

/**
 * A command's result: with --json the handler's returned object as JSON, else the text. Text
 * never carries control characters from names or paths (JSON escapes them itself).
 */
export function printResult (json: boolean, data: unknown, text: () => string): void {
  out(json ? JSON.stringify(data, null, 2) : printableText(text()))
}
