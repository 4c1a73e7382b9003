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

/** A refusal split by the input field it names, for forms that show errors next to their fields. */
export interface FormErrors {
  /** Messages by field name (the path after "input", e.g. "buId"). */
  byField: Record<string, string[]>;
  /** Messages that name no field of the form (or a GraphQL error such as FORBIDDEN). */
  other: string[];
}

/**
 * The server's refusal of a form's mutation, or null when it went through. A
 * userError whose field path (after a leading "input") starts with one of
 * `fields` is put next to that field; every other message is the form's own.
 */
export function formErrors<D>(
  result: { error?: unknown; data?: D | null },
  payload: (data: D) => { userErrors: ReadonlyArray<UserErrorLike & { field?: readonly string[] | null }> } | null | undefined,
  fields: readonly string[],
): FormErrors | null {
  if (result.error) return { byField: {}, other: [messageOf(result.error)] };
  const p = result.data ? payload(result.data) : null;
  if (!p) return { byField: {}, other: ['The server sent no answer.'] };
  if (!p.userErrors.length) return null;
  return splitUserErrors(p.userErrors, fields);
}

/** userErrors put next to the fields of a form they name (after a leading "input"); the rest are the form's own. */
export function splitUserErrors(errors: ReadonlyArray<UserErrorLike & { field?: readonly string[] | null }>, fields: readonly string[]): FormErrors {
  const out: FormErrors = { byField: {}, other: [] };
  for (const e of errors) {
    const path = e.field ?? [];
    const name = path[0] === 'input' ? path[1] : path[0];
    if (name && fields.includes(name)) (out.byField[name] ??= []).push(e.message);
    else out.other.push(e.message);
  }
  return out;
}
