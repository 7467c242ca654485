/**
 * Committed node images: commit without pausing, find and remove them by label on every host.
 */
import { AppError } from '../errors.js';
import type { DataContext } from './data-context.js';
import { engineMessage, statusOf, tolerate } from './engine-call.js';
import { containerName, inspectImage } from './inspect.js';

const labelFilter = (labels: Record<string, string>) => ({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) });

/** `LABEL "k"="v"` lines for `changes`: JSON quoting is the Dockerfile's double-quoted string syntax. */
export function labelChanges(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
}

export async function commit(
  ctx: DataContext,
  host: string,
  container: string,
  ref: { repo: string; tag: string },
  labels: Record<string, string>,
): Promise<{ imageId: string; ref: string; sizeBytes: number }> {
  const docker = ctx.pool.get(host);
  const name = `${ref.repo}:${ref.tag}`;
  const existing = await inspectImage(ctx, host, name);
  if (existing) {
    // Repeating a commit after a crash returns the first one; a different image under this ref is not ours to reuse.
    const differing = Object.entries(labels).filter(([k, v]) => (existing.Config?.Labels?.[k] ?? '') !== v);
    if (differing.length)
      throw new AppError('conflict', `The image ${name} on ${host} already exists with other labels (${differing.map(([k]) => k).join(', ')}).`);
    return { imageId: existing.Id, ref: name, sizeBytes: existing.Size };
  }
  // pause:false: the caller paused every node for one consistent cut; the daemon would otherwise pause and
  // unpause this node alone around the commit.
  await ctx.call(host, 'commit', container, () =>
    docker.getContainer(container).commit({ repo: ref.repo, tag: ref.tag, pause: false, changes: labelChanges(labels), comment: 'clusterbot snapshot' }),
  );
  const image = await ctx.call(host, 'inspect image', name, () => docker.getImage(name).inspect());
  return { imageId: image.Id, ref: name, sizeBytes: image.Size };
}

export async function listImages(ctx: DataContext, labels: Record<string, string>) {
  const out: { host: string; id: string; refs: string[]; sizeBytes: number }[] = [];
  for (const host of ctx.pool.names()) {
    const images = await ctx.call(host, 'list images', Object.keys(labels).join(','), () => ctx.pool.get(host).listImages({ filters: labelFilter(labels) }));
    for (const i of images) out.push({ host, id: i.Id, refs: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'), sizeBytes: i.Size });
  }
  return out;
}

export async function removeImages(ctx: DataContext, labels: Record<string, string>) {
  const removed: { host: string; id: string }[] = [];
  const kept: { host: string; id: string; reason: string }[] = [];
  for (const image of await listImages(ctx, labels)) {
    const { host, id } = image;
    const docker = ctx.pool.get(host);
    // Checked first because removing by tag would untag an image in use and only then refuse the last tag.
    const users = await ctx.call(host, 'list containers of image', id, () => docker.listContainers({ all: true, filters: { ancestor: [id] } }));
    const direct = users.filter((c) => c.ImageID === id);
    if (direct.length) {
      kept.push({ host, id, reason: `used by container ${direct.map(containerName).join(', ')}` });
      continue;
    }
    try {
      // Without force an image with several tags is refused by id, so untag each ref; the last one deletes it.
      for (const ref of image.refs.length ? image.refs : [id]) {
        await ctx.call(host, 'remove image', ref, () => tolerate(() => docker.getImage(ref).remove({ noprune: false }), 404));
      }
      const left = await inspectImage(ctx, host, id);
      if (left) kept.push({ host, id, reason: 'still present after its tags were removed' });
      else removed.push({ host, id });
    } catch (e) {
      if (statusOf((e as Error).cause) !== 409) throw e;
      // 409: a child image builds on it, or a container started meanwhile.
      kept.push({ host, id, reason: engineMessage((e as Error).cause) });
    }
  }
  return { removed, kept };
}

export async function hasImage(ctx: DataContext, host: string, ref: string): Promise<boolean> {
  return !!(await inspectImage(ctx, host, ref));
}
