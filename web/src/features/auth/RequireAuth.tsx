import type { ReactNode } from 'react';
import { Redirect, useLocation } from 'wouter';

import { session } from '../../lib/session';
import { useSession } from '../../lib/useSession';

/** Sends signed-out visitors to the login page, and back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const s = useSession();
  const [path] = useLocation();
  // After an expired or revoked session, come back here once logged in; after a logout, start fresh.
  if (!s) return <Redirect to="/login" replace state={session.endedByLogout() ? null : { from: path }} />;
  return children;
}

/** Signed-in users have no business on the login and registration pages. */
export function GuestOnly({ children }: { children: ReactNode }) {
  return useSession() ? <Redirect to="/" replace /> : children;
}
