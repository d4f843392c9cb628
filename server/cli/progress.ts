/** A one-line progress display with rows per second, on a terminal only (logs and pipes stay clean). */
export function progressLine(unit: string) {
  const tty = process.stderr.isTTY;
  const started = performance.now();
  let last = 0;
  return {
    update(done: number) {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const rate = Math.round(done / ((now - started) / 1000));
      process.stderr.write(`\r${done.toLocaleString('en')} ${unit} · ${rate.toLocaleString('en')}/s `);
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}
