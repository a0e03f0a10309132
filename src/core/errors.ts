/**
 * Errors facerec throws. Every error carries a stable `code`; only the CLI and the server map
 * codes to exit codes and HTTP statuses. "No face" is never an error: it is an empty list.
 */

/** Stable machine-readable error codes. */
export type FaceErrorCode =
  | 'INVALID_INPUT'
  | 'MODEL_LOAD'
  | 'INFERENCE'
  | 'STORE'
  | 'NOT_FOUND'
  | 'CONFIG'
  | 'CONFLICT';

/** Base class of every error facerec throws on purpose. */
export class FaceError extends Error {
  readonly code: FaceErrorCode;

  constructor(code: FaceErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The caller gave something unusable: an unreadable image, a bad argument, a bad name. */
export class InvalidInputError extends FaceError {
  /** What was wrong (a file path, a field name), when known. */
  readonly input: string | undefined;

  constructor(message: string, options?: { input?: string; cause?: unknown }) {
    super('INVALID_INPUT', message, options);
    this.input = options?.input;
  }
}

/** A model file is missing, corrupt, or does not have the inputs and outputs expected. */
export class ModelLoadError extends FaceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_LOAD', message, options);
  }
}

/** A model run failed; the message records the input shapes. */
export class InferenceError extends FaceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INFERENCE', message, options);
  }
}

/** The gallery database failed. */
export class StoreError extends FaceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE', message, options);
  }
}

/** A person, face, camera or event that does not exist. */
export class NotFoundError extends FaceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

/** A configuration value is invalid. */
export class ConfigError extends FaceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG', message, options);
  }
}

/** The change conflicts with existing data (a duplicate name, say). */
export class ConflictError extends FaceError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

/**
 * `Expected <expected> for <name> but received <value>`: the one format for argument errors.
 *
 * @example
 * throw invalidParameter('minSize', 'an integer ≥ 12', 3);
 */
export function invalidParameter(name: string, expected: string, value: unknown): InvalidInputError {
  return new InvalidInputError(`Expected ${expected} for ${name} but received ${describe(value)}`, {
    input: name,
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
