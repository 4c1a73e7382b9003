import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './styles.css';

// Marks this page load, so long-running screens (and their tests) can tell a
// live update from a reload.
(window as unknown as { __teslaLoad?: { id: string; at: number } }).__teslaLoad = {
  id: Math.random().toString(36).slice(2),
  at: Date.now(),
};

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
