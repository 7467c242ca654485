/**
 * The interfaces the use cases need. Adapters (db/, docker/, queue/, slack/, shell/) implement
 * them; entrypoints wire them. Services never import an adapter. One file per concern under
 * ports/; this barrel re-exports them, so `services/ports.js` stays the one import path.
 */

export * from './ports/artifacts.js';
export * from './ports/clusters.js';
export * from './ports/docker.js';
export * from './ports/hosts.js';
export * from './ports/notifier.js';
export * from './ports/operations.js';
export * from './ports/reconciler.js';
export * from './ports/settings.js';
export * from './ports/shares.js';
export * from './ports/snapshots.js';
export * from './ports/transfers.js';
export * from './ports/warnings.js';
