import { useEffect, useRef } from 'react';
import { Link, useLocation } from 'wouter';

import { messageOf } from '../../api/errors';
import { useFinishSignIn } from './api';

/**
 * Where an MCP server's authorization server sends the browser back after "Connect": hands the
 * code to the chat service (once: a state is good for one use), then goes back to the Tools page.
 */
export function SignInReturn() {
  const [, navigate] = useLocation();
  const finish = useFinishSignIn();
  const sent = useRef(false);
  const params = new URLSearchParams(window.location.search);
  const code = params.get('code');
  const state = params.get('state');
  const refusal = params.get('error');

  useEffect(() => {
    if (sent.current || refusal || !code || !state) return;
    sent.current = true;
    finish.mutate({ code, state }, { onSuccess: () => navigate('/tools', { replace: true }) });
  }, [code, state, refusal, finish, navigate]);

  let text: string;
  if (refusal) {
    const why = refusal === 'access_denied' ? 'you declined it' : (params.get('error_description') ?? refusal);
    text = `The sign-in was not completed: ${why}.`;
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
