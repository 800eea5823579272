// The progress of a run, on stderr (stdout keeps the tables, or the JSON of --json): on a
// terminal one line rewritten in place (and its clock ticking each second); otherwise a plain
// line per case, so logs stay readable.

const clock = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export function createProgress(total, { stream = process.stderr } = {}) {
  const tty = Boolean(stream.isTTY);
  const start = performance.now();
  let state = null; // { index, label, leftMs, at }
  let timer = null;
  const text = () => {
    const now = performance.now();
    const left = state.leftMs == null ? '' : `, about ${clock(state.leftMs - (now - state.at))} left`;
    return `case ${state.index} of ${total}: ${state.label} | ${clock(now - start)} elapsed${left}`;
  };
  const draw = () => {
    const line = text();
    const width = (stream.columns ?? 100) - 1;
    stream.write(`\r\x1b[2K${line.length > width ? line.slice(0, width - 1) + '…' : line}`);
  };
  return {
    /** Case `index` (from 1) starts; leftMs: the estimate of what is left, this case included. */
    update(index, label, leftMs) {
      state = { index, label, leftMs, at: performance.now() };
      if (!tty) {
        stream.write(`${text()}\n`);
        return;
      }
      draw();
      timer ??= setInterval(draw, 1000).unref();
    },
    /** Clears the line (on a terminal) before the results are printed. */
    done() {
      if (timer) clearInterval(timer);
      if (tty && state) stream.write('\r\x1b[2K');
      if (!tty && state) stream.write(`${total} case${total === 1 ? '' : 's'} in ${clock(performance.now() - start)}\n`);
    },
  };
}
