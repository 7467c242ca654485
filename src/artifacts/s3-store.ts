import { createHash } from 'node:crypto';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ArtifactStore } from '../services/ports.js';
import { checkKey, contentDisposition, defaultFilename } from './artifact-key.js';

export interface S3StoreOptions {
  /** For S3-compatible servers (MinIO, Ceph, moto...); unset means AWS. Implies path-style addressing. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Unset means the AWS SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Prepended to every key, e.g. `clusterbot/`, so one bucket can serve several deployments. */
  prefix?: string;
  /** Multipart part size (S3's minimum, 5 MiB, by default); archives stream through in parts of this size. */
  partSizeBytes?: number;
}

/** SigV4 presigned URLs live at most a week. */
export const maxPresignSeconds = 7 * 24 * 3600;

const minPartSize = 5 * 1024 * 1024;

function notFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  return (
    err.name === 'NotFound' ||
    err.name === 'NoSuchKey' ||
    err.name === 'NoSuchBucket' ||
    err.$metadata.httpStatusCode === 404
  );
}

/**
 * Artifacts in an S3-compatible bucket. Puts stream through a multipart upload (never the whole archive in
 * memory; an aborted upload leaves no object under the key), links are presigned GETs, and the bucket is
 * created on first use if it does not exist.
 */
export function createS3Store(opts: S3StoreOptions): ArtifactStore & { close(): void } {
  const client = new S3Client({
    region: opts.region,
    ...(opts.endpoint && { endpoint: opts.endpoint, forcePathStyle: true }),
    ...(opts.credentials && { credentials: opts.credentials }),
    // Only send and check checksums where S3 requires them: S3-compatible servers differ in what they support.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const bucket = opts.bucket;
  const prefix = opts.prefix ? opts.prefix.replace(/\/*$/, '/') : '';
  const objectKey = (key: string) => prefix + checkKey(key);

  // Once per store; a failure is forgotten so the next call tries again.
  let bucketReady: Promise<void> | undefined;
  const ensureBucket = (): Promise<void> => {
    bucketReady ??= (async () => {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return;
      } catch (err) {
        if (!notFound(err)) throw err;
      }
      try {
        await client.send(
          new CreateBucketCommand({
            Bucket: bucket,
            // us-east-1 is the one region that refuses an explicit location constraint.
            ...(opts.region !== 'us-east-1' && {
              CreateBucketConfiguration: { LocationConstraint: opts.region as never },
            }),
          }),
        );
      } catch (err) {
        // Another process created it meanwhile.
        if (
          !(
            err instanceof S3ServiceException &&
            (err.name === 'BucketAlreadyOwnedByYou' || err.name === 'BucketAlreadyExists')
          )
        )
          throw err;
      }
    })().catch((err) => {
      bucketReady = undefined;
      throw err;
    });
    return bucketReady;
  };

  return {
    async put(key, body, putOpts) {
      const Key = objectKey(key);
      await ensureBucket();
      const hash = createHash('sha256');
      let sizeBytes = 0;
      const counted = new Transform({
        transform(chunk: Buffer | string, _encoding, done) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          hash.update(bytes);
          sizeBytes += bytes.length;
          done(null, bytes);
        },
      });
      const feeding = pipeline(body, counted);
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key,
          Body: counted,
          ...(putOpts?.contentType && { ContentType: putOpts.contentType }),
        },
        partSize: Math.max(minPartSize, opts.partSizeBytes ?? minPartSize),
        queueSize: 2,
        // The default: on failure the multipart upload is aborted, so no parts linger (and are billed).
        leavePartsOnError: false,
      });
      const uploading = upload.done().catch((err: unknown) => {
        // Stop reading the source: nobody consumes `counted` any more.
        counted.destroy(err as Error);
        throw err;
      });
      await Promise.all([feeding, uploading]);
      return { sizeBytes, sha256: hash.digest('hex') };
    },

    async get(key) {
      const Key = objectKey(key);
      try {
        const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key }));
        return res.Body as Readable;
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },

    async link(key, expiresAt, linkOpts) {
      const Key = objectKey(key);
      const filename = linkOpts?.filename || defaultFilename(key);
      const now = Date.now();
      // A past expiry still gets a link (already refused), as the filesystem store gives: signed a second
      // before it expires, with the shortest lifetime.
      const seconds = Math.ceil((expiresAt.getTime() - now) / 1000);
      const expiresIn = Math.min(Math.max(seconds, 1), maxPresignSeconds);
      const signingDate = seconds >= 1 ? new Date(now) : new Date(expiresAt.getTime() - 1000);
      const command = new GetObjectCommand({
        Bucket: bucket,
        Key,
        ResponseContentDisposition: contentDisposition(filename),
      });
      return getSignedUrl(client, command, { expiresIn, signingDate });
    },

    async delete(key) {
      // S3 deletes are idempotent: a missing key (or bucket) is success.
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      } catch (err) {
        if (!notFound(err)) throw err;
      }
    },

    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
        return true;
      } catch (err) {
        if (notFound(err)) return false;
        throw err;
      }
    },

    async list(listPrefix) {
      const keys: string[] = [];
      let token: string | undefined;
      try {
        do {
          const page = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix + listPrefix,
              ...(token && { ContinuationToken: token }),
            }),
          );
          for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key.slice(prefix.length));
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token);
      } catch (err) {
        if (notFound(err)) return [];
        throw err;
      }
      return keys.sort();
    },

    async sweepPartial(olderThan) {
      // A put streams through a multipart upload; a process killed mid-way leaves it open, its parts billed forever.
      const removed: string[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await client.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket,
            Prefix: prefix,
            ...(keyMarker && { KeyMarker: keyMarker }),
            ...(uploadIdMarker && { UploadIdMarker: uploadIdMarker }),
          }),
        );
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= olderThan) continue;
          await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
          removed.push(`${u.Key.slice(prefix.length)} (upload ${u.UploadId})`);
        }
        [keyMarker, uploadIdMarker] = page.IsTruncated
          ? [page.NextKeyMarker, page.NextUploadIdMarker]
          : [undefined, undefined];
      } while (keyMarker);
      return removed;
    },

    close() {
      client.destroy();
    },
  };
}
