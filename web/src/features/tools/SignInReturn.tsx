import { useEffect, useRef, useState } from 'react';
import { Link, useLocation } from 'wouter';

import { messageOf } from '../../api/errors';
import { useFinishSignIn } from './api';

/** What the authorization server sent back. */
function readReturn() {
  const params = new URLSearchParams(window.location.search);
  return { code: params.get('code'), state: params.get('state'), refusal: params.get('error') };
}

/** Words of our own for an OAuth error code (RFC 6749 §4.1.2.1): anyone can send a browser here
 * with any text, so none of the server's own is shown. */
function refusalText(code: string): string {
  if (code === 'access_denied') return 'you declined it';
  return /^[a-z_]{1,40}$/.test(code) ? `the server refused it (${code})` : 'the server refused it';
}

/**
 * Where an MCP server's authorization server sends the browser back after "Connect": hands the
 * code to the chat service (once: a state is good for one use), then goes back to the Tools page.
 */
export function SignInReturn() {
  const [, navigate] = useLocation();
  const finish = useFinishSignIn();
  const sent = useRef(false);
  const [{ code, state, refusal }] = useState(readReturn);

  useEffect(() => {
    // Out of the address bar once read: a code or state left there would be in the history.
    if (window.location.search) window.history.replaceState(window.history.state, '', window.location.pathname);
    if (sent.current || refusal || !code || !state) return;
    sent.current = true;
    finish.mutate({ code, state }, { onSuccess: () => navigate('/tools', { replace: true }) });
  }, [code, state, refusal, finish, navigate]);

  let text: string;
  if (refusal) {
    text = `The sign-in was not completed: ${refusalText(refusal)}.`;
  } else if (!code || !state) {
    text = 'This page is where a sign-in to an MCP server comes back to, and none did.';
  } else if (finish.isError) {
    text = messageOf(finish.error);
  } else {
    text = 'Finishing the sign-in…';
  }
  const failed = Boolean(refusal) || !code || !state || finish.isError;
  return (
    <main className="page" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Connecting an MCP server</h1>
      <p className={failed ? 'form-error' : 'muted'} role={failed ? 'alert' : 'status'}>
        {text}
      </p>
      <Link href="/tools">Back to Tools</Link>
    </main>
  );
}
