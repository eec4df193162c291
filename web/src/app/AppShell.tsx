import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type ReactNode } from 'react';

import { Icon } from '../components/Icon';
import { Sidebar } from '../features/conversations/Sidebar';
import { ChatStore } from '../features/chat/store';
import { ChatStoreContext } from '../features/chat/useChat';

/** The signed-in layout: the sidebar (a drawer on phones) and the page. */
export function AppShell({ children }: { children: ReactNode }) {
  const queries = useQueryClient();
  const [store] = useState(() => new ChatStore(queries));
  const [drawer, setDrawer] = useState(false);

  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);

  useEffect(() => {
    if (!drawer) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setDrawer(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [drawer]);

  return (
    <ChatStoreContext.Provider value={store}>
      <div className={`shell ${drawer ? 'drawer-open' : ''}`}>
        <a href="#main" className="skip-link">
          Skip to the conversation
        </a>
        <header className="mobile-bar">
          <button
            type="button"
            className="icon-button"
            aria-label={drawer ? 'Close the conversation list' : 'Open the conversation list'}
            title={drawer ? 'Close the conversation list' : 'Open the conversation list'}
            aria-expanded={drawer}
            aria-controls="sidebar"
            onClick={() => setDrawer((d) => !d)}
          >
            <Icon name={drawer ? 'close' : 'menu'} />
          </button>
          <span className="brand">Open ChatBot</span>
        </header>
        <div id="sidebar" className="sidebar-wrap">
          <Sidebar onNavigate={() => setDrawer(false)} />
        </div>
        {drawer && <div className="scrim" onClick={() => setDrawer(false)} aria-hidden="true" />}
        <div id="main" className="main">
          {children}
        </div>
      </div>
    </ChatStoreContext.Provider>
  );
}
