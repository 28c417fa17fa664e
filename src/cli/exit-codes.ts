// Exit codes of the patchwork command.
export const EXIT_OK = 0;
/** Anything unexpected: a bug or an environment failure. */
export const EXIT_FAILURE = 1;
/** The input was wrong (bad file, bad mask, bad option): the message says what to change. */
export const EXIT_BAD_INPUT = 2;
