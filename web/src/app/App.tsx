import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useState } from 'react';
import { Redirect, Route, Switch } from 'wouter';

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
const ToolsPage = lazy(() => import('../features/tools/ToolsPage').then((m) => ({ default: m.ToolsPage })));
const SignInReturn = lazy(() => import('../features/tools/SignInReturn').then((m) => ({ default: m.SignInReturn })));
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
      <Switch>
        <Route path="/login">
          <GuestOnly>
            <PageTitle title="Log in" />
            <LoginPage />
          </GuestOnly>
        </Route>
        <Route path="/register">
          <GuestOnly>
            <PageTitle title="Create an account" />
            <RegisterPage />
          </GuestOnly>
        </Route>
        <Route>
          <RequireAuth>
            <AppShell>
              <Switch>
                <Route path="/">
                  <ChatPage />
                </Route>
                <Route path="/c/:conversationId">
                  <ChatPage />
                </Route>
                <Route path="/account">
                  <PageTitle title="Account" />
                  <AccountPage />
                </Route>
                <Route path="/settings">
                  <Suspense fallback={<main className="page">Loading…</main>}>
                    <PageTitle title="Settings" />
                    <SettingsPage />
                  </Suspense>
                </Route>
                <Route path="/tools/connected">
                  <Suspense fallback={<main className="page">Loading…</main>}>
                    <PageTitle title="Connecting" />
                    <SignInReturn />
                  </Suspense>
                </Route>
                <Route path="/tools">
                  <Suspense fallback={<main className="page">Loading…</main>}>
                    <PageTitle title="Tools" />
                    <ToolsPage />
                  </Suspense>
                </Route>
                <Route path="/admin">
                  <Suspense fallback={<main className="page">Loading…</main>}>
                    <PageTitle title="Administration" />
                    <AdminPage />
                  </Suspense>
                </Route>
                <Route>
                  <Redirect to="/" replace />
                </Route>
              </Switch>
            </AppShell>
          </RequireAuth>
        </Route>
      </Switch>
    </QueryClientProvider>
  );
}
