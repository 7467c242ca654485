import { expect } from 'vitest';
import { AppError } from '../../src/errors.js';

/** The error a promise rejects with, so a test can assert on its fields (code, message, retryable). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

/** The AppError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function appRejection(p: Promise<unknown>): Promise<AppError> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}
