import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';

import { ApiError } from '../api/errors';
import { AccountPage } from '../features/auth/AccountPage';
import { LoginPage } from '../features/auth/LoginPage';
import { RegisterPage } from '../features/auth/RegisterPage';
import { PageTitle } from '../components/PageTitle';
import { GuestOnly, RequireAuth } from '../features/auth/RequireAuth';
import { ChatPage } from '../features/chat/ChatPage';
import { session } from '../lib/session';
import { AppShell } from './AppShell';

const AdminPage = lazy(() => import('../features/admin/AdminPage').then((m) => ({ default: m.AdminPage })));
const SettingsPage = lazy(() => import('../features/settings/SettingsPage').then((m) => ({ default: m.SettingsPage })));

function makeClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Client errors (404, 403, …) won't change by asking again; an unreachable or failing
        // server is asked again until it answers (the page fills in when it is back).
        retry: (count, error) =>
          error instanceof ApiError && (error.status === 0 || error.status >= 500)
            ? true
            : !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
        retryDelay: (attempt) => Math.min(1000 * 2 ** attempt, 15_000),
        refetchOnWindowFocus: false,
      },
    },
  });
}

export function App() {
  const [client] = useState(makeClient);
  // Signing out (here or in another tab) forgets everything cached for the old user.
  useEffect(() => session.subscribe(() => !session.get() && client.clear()), [client]);
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <Routes>
          <Route
            path="/login"
            element={
              <GuestOnly>
                <PageTitle title="Log in" />
                <LoginPage />
              </GuestOnly>
            }
          />
          <Route
            path="/register"
            element={
              <GuestOnly>
                <PageTitle title="Create an account" />
                <RegisterPage />
              </GuestOnly>
            }
          />
          <Route
            element={
              <RequireAuth>
                <AppShell />
              </RequireAuth>
            }
          >
            <Route index element={<ChatPage />} />
            <Route path="c/:conversationId" element={<ChatPage />} />
            <Route
              path="account"
              element={
                <>
                  <PageTitle title="Account" />
                  <AccountPage />
                </>
              }
            />
            <Route
              path="settings"
              element={
                <Suspense fallback={<main className="page">Loading…</main>}>
                  <PageTitle title="Settings" />
                  <SettingsPage />
                </Suspense>
              }
            />
            <Route
              path="admin"
              element={
                <Suspense fallback={<main className="page">Loading…</main>}>
                  <PageTitle title="Administration" />
                  <AdminPage />
                </Suspense>
              }
            />
          </Route>
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
