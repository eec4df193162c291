import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { session } from '../../lib/session';
import { useSession } from '../../lib/useSession';

/** Sends signed-out visitors to the login page, and back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const s = useSession();
  const location = useLocation();
  // After an expired or revoked session, come back here once logged in; after a logout, start fresh.
  if (!s) return <Navigate to="/login" replace state={session.endedByLogout() ? null : { from: location.pathname }} />;
  return children;
}

/** Signed-in users have no business on the login and registration pages. */
export function GuestOnly({ children }: { children: ReactNode }) {
  return useSession() ? <Navigate to="/" replace /> : children;
}
