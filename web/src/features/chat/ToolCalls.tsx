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

/**
 * One tool call of a reply, collapsed to a line (tool, server, state, time) that opens to its
 * arguments and result or error.
 */
export function ToolCallView({ call, running }: { call: ToolCall; running: boolean }) {
  const ended = call.duration_ms != null;
  const state = call.error != null ? 'error' : ended ? 'done' : running ? 'running' : 'stopped';
  const label =
    state === 'running'
      ? 'Running…'
      : state === 'error'
        ? `Failed${ended ? ` after ${duration(call.duration_ms!)}` : ''}`
        : state === 'done'
          ? duration(call.duration_ms!)
          : 'Did not finish';
  return (
    <details className={`tool-call ${state}`} data-tool-call={call.id} data-state={state}>
      <summary>
        <span className="tool-name">{call.name}</span>
        {call.server && <span className="tool-server">{call.server}</span>}
        <span className="tool-state" role={state === 'running' ? 'status' : undefined}>
          {label}
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
  );
}
