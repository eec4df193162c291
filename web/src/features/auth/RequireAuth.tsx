import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { useSession } from '../../lib/useSession';

/** Sends signed-out visitors to the login page, and back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const s = useSession();
  const location = useLocation();
  if (!s) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return children;
}

/** Signed-in users have no business on the login and registration pages. */
export function GuestOnly({ children }: { children: ReactNode }) {
  return useSession() ? <Navigate to="/" replace /> : children;
}
