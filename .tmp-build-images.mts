import Docker from 'dockerode';
import { pino } from 'pino';
import { createImageBuilder } from './src/docker/image-builder.ts';
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const builder = createImageBuilder({ docker: new Docker({ socketPath: '/var/run/docker.sock' }), recipesDir: '/work/main/manifests/images', cacheDir: '/var/cache/clusterbot', logger, debianMirror: process.env.DEBIAN_MIRROR });
const names = process.argv.slice(2);
for (const name of names) {
  const res = await builder.build(name);
  console.log(JSON.stringify(res, null, 1));
}
console.log(JSON.stringify(await builder.list(), null, 1));
