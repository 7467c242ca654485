import { tolerate, type EngineContext } from './engine-call.js';

/*
 * The engine's view of one object on a host, or undefined when it is not there. Only a 404 counts as absent: any
 * other failure throws (failure is not absence), since what asks often goes on to create or remove.
 */

export function inspectContainer(ctx: EngineContext, host: string, name: string) {
  return ctx.call(host, 'inspect', name, () => tolerate(() => ctx.pool.get(host).getContainer(name).inspect(), 404));
}

export function inspectImage(ctx: EngineContext, host: string, ref: string) {
  return ctx.call(host, 'inspect image', ref, () => tolerate(() => ctx.pool.get(host).getImage(ref).inspect(), 404));
}

export function inspectVolume(ctx: EngineContext, host: string, name: string) {
  const volume = ctx.pool.get(host).getVolume(name);
  return ctx.call(host, 'inspect volume', name, () => tolerate(() => volume.inspect(), 404));
}

/** A listed container's name without Docker's leading slash (its short id if it has none). */
export function containerName(c: { Names: string[]; Id: string }): string {
  return c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
}
