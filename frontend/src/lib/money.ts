// Money as the API sends it: exact decimal strings, shown with two decimals and
// summed in cents, never as floats.

/** An exact decimal string as money for display ("1234.5" → "1,234.50"); the figure itself is never computed with here. */
export function formatMoney(amount: string | null | undefined, currency = ''): string {
  if (amount == null || amount === '') return '–';
  const n = Number(amount);
  if (!Number.isFinite(n)) return amount;
  const s = n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return currency ? `${s} ${currency}` : s;
}

/** Adds amounts of two decimals exactly (in cents, as BigInt): money is never summed as floats. */
export function sumMoney(amounts: readonly string[]): string {
  let cents = 0n;
  for (const a of amounts) {
    const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(a.trim());
    if (!m) continue;
    const v = BigInt(m[2]) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'));
    cents += m[1] ? -v : v;
  }
  const neg = cents < 0n;
  const abs = neg ? -cents : cents;
  return `${neg ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}
