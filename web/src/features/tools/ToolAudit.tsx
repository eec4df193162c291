import { useDeferredValue, useState } from 'react';

import { messageOf } from '../../api/errors';
import { AUDIT_PAGE, useToolCallAudit } from './api';
import { duration } from '../chat/toolSegments';

const OUTCOMES = ['', 'ok', 'error', 'declined'] as const;

/** Every tool call of every user, newest first (administrators only): who, where, how it ended. */
export function ToolAudit() {
  const [username, setUsername] = useState('');
  const [outcome, setOutcome] = useState<(typeof OUTCOMES)[number]>('');
  const [offset, setOffset] = useState(0);
  const user = useDeferredValue(username.trim());
  const audit = useToolCallAudit({ username: user, outcome }, offset);
  const total = audit.data?.total ?? 0;
  return (
    <section className="card" aria-labelledby="audit-title">
      <h2 id="audit-title">Tool calls</h2>
      <p className="form-note">Every call any user&rsquo;s replies made, newest first (kept 90 days).</p>
      <div className="audit-filters">
        <label>
          User{' '}
          <input
            type="search"
            value={username}
            onChange={(e) => {
              setUsername(e.currentTarget.value);
              setOffset(0);
            }}
          />
        </label>
        <label>
          Outcome{' '}
          <select
            value={outcome}
            onChange={(e) => {
              setOutcome(e.currentTarget.value as (typeof OUTCOMES)[number]);
              setOffset(0);
            }}
          >
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o || 'any'}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="button" onClick={() => void audit.refetch()}>
          Refresh
        </button>
      </div>
      {audit.isError && (
        <p className="form-error" role="alert">
          {messageOf(audit.error)}
        </p>
      )}
      <div className="table-wrap">
        <table className="tool-audit">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">User</th>
              <th scope="col">Server</th>
              <th scope="col">Tool</th>
              <th scope="col">Outcome</th>
              <th scope="col">Time</th>
              <th scope="col">Bytes</th>
            </tr>
          </thead>
          <tbody>
            {(audit.data?.calls ?? []).map((call) => (
              <tr key={call.id} data-outcome={call.outcome}>
                <td>
                  <time dateTime={call.at}>{new Date(call.at).toLocaleString()}</time>
                </td>
                <td>{call.username}</td>
                <td>{call.server}</td>
                <td>
                  <code>{call.tool}</code>
                </td>
                <td>{call.outcome}</td>
                <td>{duration(call.duration_ms)}</td>
                <td>{call.bytes}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted">
        {total === 0 ? 'No calls.' : `${offset + 1}–${Math.min(offset + AUDIT_PAGE, total)} of ${total}`}
        {offset > 0 && (
          <button type="button" className="link-button" onClick={() => setOffset(Math.max(0, offset - AUDIT_PAGE))}>
            Newer
          </button>
        )}
        {offset + AUDIT_PAGE < total && (
          <button type="button" className="link-button" onClick={() => setOffset(offset + AUDIT_PAGE)}>
            Older
          </button>
        )}
      </p>
    </section>
  );
}
