/** Where the services are, read at run time from the server that served the page. */
export interface RuntimeConfig {
  auth_url: string;
  chat_url: string;
}

let current: RuntimeConfig | null = null;

/** The page's host on the default ports: what `openchat web` answers too (and Vite's dev server). */
function fallback(): RuntimeConfig {
  const host = window.location.hostname || 'localhost';
  const name = host.includes(':') ? `[${host}]` : host;
  return { auth_url: `http://${name}:8001`, chat_url: `http://${name}:8000` };
}

export async function loadConfig(): Promise<RuntimeConfig> {
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    const type = response.headers.get('content-type') ?? '';
    current = response.ok && type.includes('json') ? ((await response.json()) as RuntimeConfig) : fallback();
  } catch {
    current = fallback();
  }
  return current;
}

export function config(): RuntimeConfig {
  return current ?? fallback();
}
