import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { loadConfig } from './api/config';
import { App } from './app/App';
import { applyTheme } from './lib/theme';
import './styles.css';

applyTheme();
await loadConfig();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
