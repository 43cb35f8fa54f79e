/** A file system error as a few words for an error line: `permission denied`, `no such file`, else its code. */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symlinks';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}
