/**
 * Thrown for an argument an op cannot accept. `argument` names it (e.g. "W", "hparameters.stride"),
 * `op` names the call, and the message says what was expected and what came.
 */
export class CnnArgumentError extends TypeError {
  override name = 'CnnArgumentError';
  constructor(
    readonly op: string,
    readonly argument: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`${op}: ${argument}: expected ${expected}, got ${received}`);
  }
}

/** Thrown when a tensor of `bytes` bytes cannot be allocated; the backend stays usable. */
export class CnnAllocationError extends RangeError {
  override name = 'CnnAllocationError';
  constructor(
    readonly op: string,
    readonly bytes: number,
    reason: string,
  ) {
    super(`${op}: cannot allocate ${bytes} bytes (${formatBytes(bytes)}): ${reason}`);
  }
}

/** Thrown by createBackend when the engine lacks what a backend needs. */
export class CnnUnsupportedError extends Error {
  override name = 'CnnUnsupportedError';
}

/**
 * Thrown by an op when a worker thread failed while running part of it (its kernel threw, or the
 * thread stopped mid-task). The op's output is not valid; the backend goes on, on one thread where
 * a worker was lost.
 */
export class CnnThreadError extends Error {
  override name = 'CnnThreadError';
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
