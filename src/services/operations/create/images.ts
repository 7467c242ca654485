import type { PlannedNode } from '../../../domain/plan.js';
import { bytesText } from '../../../domain/bytes.js';
import type { ImageCopyProgress } from '../../ports.js';
import type { PlannedAttempt } from './attempt.js';

/**
 * Checking images: each node's image on the host (a template's clean image, or a source's own, such as a snapshot's
 * committed image), brought there first when the host lacks it. Returns each node's image.
 */
export async function ensureImages(run: PlannedAttempt, host: string): Promise<(node: PlannedNode) => string> {
  const { deps, plan, source } = run;
  run.step = 'checking images';
  const images = new Map<string, string>();
  if (source)
    for (const node of plan.nodes) {
      const copy = copying(run, `the snapshot image of ${node.hostname}`, host);
      images.set(`node:${node.ordinal}`, await source.image(host, node, copy.on));
      await copy.told();
    }
  else
    for (const recipe of new Set(plan.nodes.map((n) => n.image))) {
      const copy = copying(run, `the ${recipe} image`, host);
      images.set(recipe, await deps.runtime.ensureImage(host, recipe, copy.on));
      await copy.told();
    }
  await run.progress('images present');
  deps.checkpoint?.('create.images');
  return (node) => images.get(source ? `node:${node.ordinal}` : node.image)!;
}

/**
 * A host that lacks an image gets it first (minutes for a big one): the card says how far it has got, at most
 * every 2 s (the outbox coalesces the progress message anyway), without counting as a step of its own.
 * Its messages go out one after another and are all written before the next step's, so none overtakes it.
 */
function copying(
  run: PlannedAttempt,
  what: string,
  host: string,
): { on: (p: ImageCopyProgress) => void; told: () => Promise<void> } {
  let last = 0;
  let told = Promise.resolve();
  const on = (p: ImageCopyProgress) => {
    const now = run.deps.clock.now().getTime();
    if (now - last < 2000) return;
    last = now;
    const how = p.via === 'stream'
      ? `${bytesText(p.done)}${p.total ? ` of ${bytesText(p.total)}` : ''}`
      : `${p.done}${p.total ? ` of ${p.total}` : ''} layers`;
    const text = `copying ${what} to ${host}: ${how}`;
    told = told.then(async () => run.progressBetween(text)).catch(() => undefined);
  };
  return { on, told: () => told };
}
