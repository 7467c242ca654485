/** The template images a host needs before nodes are made there: present, brought from elsewhere, or refused. */
import { AppError } from '../errors.js';
import type { ImageRuntime } from '../services/ports.js';
import { inspectImage } from './inspect.js';
import type { RuntimeContext } from './runtime-context.js';

export function createImageRuntime(ctx: RuntimeContext): ImageRuntime {
  const { opts } = ctx;
  return {
    async ensureImage(host, recipe, onProgress) {
      const ref = await opts.resolveImage(recipe);
      let image = await inspectImage(ctx, host, ref);
      if (!image && opts.distribution) {
        await opts.distribution.ensure(host, ref, onProgress);
        image = await inspectImage(ctx, host, ref);
      }
      if (image) return image.Id;
      const missing = `The image ${ref} (recipe "${recipe}") is not built on Docker host ${host}.`;
      throw new AppError('image_missing', missing, {
        hints: [`An admin runs \`clusterbot images build ${recipe}\` to build it.`],
      });
    },
  };
}
