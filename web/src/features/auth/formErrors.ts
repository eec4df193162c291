import { ApiError, messageOf } from '../../api/errors';

/** Errors of a form: a reason per field (shown under it), and `form` for the whole form. */
export type FormErrors = Record<string, string>;

/** Which field a 400 "… already registered" answer is about. */
function duplicateField(detail: string): string | null {
  const d = detail.toLowerCase();
  if (!d.includes('already registered')) return null;
  return d.includes('email') ? 'email' : 'username';
}

/**
 * Where a failed submission's reasons go: a 422's per-field reasons, a 400's "… already
 * registered" and a 403's wrong current password under their fields, anything else above the
 * form.
 */
export function formErrors(err: unknown): FormErrors {
  if (err instanceof ApiError && Object.keys(err.fields).length > 0) return err.fields;
  // A password change's proof of identity failed: said under the field that holds it.
  if (err instanceof ApiError && err.status === 403 && /current password/i.test(err.message)) {
    return { current_password: err.message };
  }
  const field = err instanceof ApiError && err.status === 400 ? duplicateField(err.message) : null;
  return field ? { [field]: messageOf(err) } : { form: messageOf(err) };
}
