import { homedir } from 'node:os';

/**
 * The user's home directory: $HOME, else the one the system names for the user (as client-go's homedir.HomeDir
 * falls back). Undefined when there is neither, as for a container's arbitrary uid without HOME: os.homedir()
 * throws there, and that must not become a stack trace.
 */
export function homeDirectory(env: NodeJS.ProcessEnv): string | undefined {
  if (env.HOME) return env.HOME;
  try {
    return homedir();
  } catch {
    return undefined;
  }
}

/** Said after what cannot be found or made in the home directory when there is none. */
export const NO_HOME = 'HOME is not set and this user has no home directory';
