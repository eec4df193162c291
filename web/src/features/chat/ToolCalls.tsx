import { useState } from 'react';

import type { ToolCall } from '../../api/types.gen';
import { duration } from './toolSegments';

/** The arguments as the model wrote them, indented when they are JSON. */
function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

type CallState = 'waiting' | 'running' | 'done' | 'error' | 'declined' | 'stopped';

function stateOf(call: ToolCall, running: boolean): CallState {
  const ended = call.duration_ms != null;
  if (call.approval === 'declined') return 'declined';
  if (call.error != null) return 'error';
  if (ended) return 'done';
  if (!running) return 'stopped';
  return call.approval === 'pending' ? 'waiting' : 'running';
}

function labelOf(call: ToolCall, state: CallState): string {
  switch (state) {
    case 'waiting':
      return 'Waits for your approval';
    case 'running': {
      const p = call.progress;
      if (!p) return 'Running…';
      const amount = p.total ? `${Math.round((100 * p.progress) / p.total)}%` : `${p.progress}`;
      return `Running… ${amount}${p.message ? ` — ${p.message}` : ''}`;
    }
    case 'error':
      return `Failed${call.duration_ms ? ` after ${duration(call.duration_ms)}` : ''}`;
    case 'declined':
      return 'Not run';
    case 'done':
      return duration(call.duration_ms!);
    case 'stopped':
      return 'Did not finish';
  }
}

/**
 * One tool call of a reply, collapsed to a line (tool, server, state, time) that opens to its
 * arguments and result or error. A call waiting for the user's approval shows its arguments and
 * asks (`onAnswer`); a running one shows its server's progress.
 */
export function ToolCallView({
  call,
  running,
  onAnswer,
}: {
  call: ToolCall;
  running: boolean;
  /** Sends the answer; whether it could be sent. */
  onAnswer?: (approved: boolean) => boolean;
}) {
  const state = stateOf(call, running);
  const [answered, setAnswered] = useState(false);
  const progress = state === 'running' ? call.progress : null;
  const answer = (approved: boolean) => setAnswered(onAnswer?.(approved) ?? false);
  return (
    <div className="tool-call-wrap">
      <details className={`tool-call ${state}`} data-tool-call={call.id} data-state={state} open={state === 'waiting'}>
        <summary>
          <span className="tool-name">{call.name}</span>
          {call.server && <span className="tool-server">{call.server}</span>}
          <span className="tool-state" role={state === 'running' || state === 'waiting' ? 'status' : undefined}>
            {labelOf(call, state)}
          </span>
        </summary>
        <div className="tool-body">
          <p className="tool-label">Arguments</p>
          <pre>{pretty(call.arguments)}</pre>
          {call.result != null && (
            <>
              <p className="tool-label">Result</p>
              <pre>{call.result}</pre>
            </>
          )}
          {call.error != null && (
            <>
              <p className="tool-label">Error</p>
              <pre className="tool-error">{call.error}</pre>
            </>
          )}
        </div>
      </details>
      {progress?.total ? (
        <progress
          className="tool-progress"
          value={progress.progress}
          max={progress.total}
          aria-label={`${call.name} progress`}
        />
      ) : null}
      {state === 'waiting' && onAnswer && (
        <div className="tool-approval" role="group" aria-label={`Run ${call.name}?`}>
          <span>
            Run <code>{call.name}</code>
            {call.server ? ` on ${call.server}` : ''} with these arguments?
          </span>
          <button type="button" className="button primary small" disabled={answered} onClick={() => answer(true)}>
            Run
          </button>
          <button type="button" className="button small" disabled={answered} onClick={() => answer(false)}>
            Don&rsquo;t run
          </button>
        </div>
      )}
    </div>
  );
}
