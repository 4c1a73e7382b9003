// The outcome of a mutation in words: the server refuses either with a GraphQL
// error (no session, a role too low: FORBIDDEN) or with userErrors in the
// payload (bad input, a conflict with the current state). Either way the page
// shows the server's message.
import { messageOf } from './errors';

interface UserErrorLike {
  message: string;
}

/** The server's reason for refusing, or null when the mutation went through. */
export function refusal<D>(
  result: { error?: unknown; data?: D | null },
  payload: (data: D) => { userErrors: readonly UserErrorLike[] } | null | undefined,
): string | null {
  if (result.error) return messageOf(result.error);
  const p = result.data ? payload(result.data) : null;
  if (!p) return 'The server sent no answer.';
  if (p.userErrors.length) return p.userErrors.map((e) => e.message).join('; ');
  return null;
}
