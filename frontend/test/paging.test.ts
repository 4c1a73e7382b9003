import { describe, expect, it } from 'vitest';
import { nextCursor, nextPosition, pagerState, pageVariables, positionFor, previousCursor, previousPageCursor, previousPosition } from '../src/lib/paging';

const info = (o: Partial<{ hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null }>) => ({
  hasNextPage: false,
  hasPreviousPage: false,
  startCursor: 's',
  endCursor: 'e',
  ...o,
});

describe('paging', () => {
  it('builds connection arguments', () => {
    expect(pageVariables(50, {})).toEqual({ first: 50 });
    expect(pageVariables(50, { after: 'c1' })).toEqual({ first: 50, after: 'c1' });
    expect(pageVariables(50, { before: 'c0' })).toEqual({ last: 50, before: 'c0' });
  });
  it('derives next and previous cursors', () => {
    expect(nextCursor(info({ hasNextPage: true }))).toEqual({ after: 'e' });
    expect(nextCursor(info({ hasNextPage: false }))).toBeNull();
    expect(previousCursor(info({ hasPreviousPage: true }))).toEqual({ before: 's' });
    expect(previousCursor(null)).toBeNull();
  });
  it('does not trust hasPreviousPage/hasNextPage alone', () => {
    // Paging forward: the server may say hasPreviousPage=false on page 2.
    expect(pagerState(info({ hasNextPage: true }), { after: 'x' }, 1)).toEqual({ hasPrevious: true, hasNext: true });
    // Paging backward: hasNextPage may be false though we came from a later page.
    expect(pagerState(info({ hasPreviousPage: true }), { before: 'y' }, 1)).toEqual({ hasPrevious: true, hasNext: true });
    // First page, nothing more.
    expect(pagerState(info({}), {}, 0)).toEqual({ hasPrevious: false, hasNext: false });
    // Empty page.
    expect(pagerState(info({ startCursor: null, endCursor: null }), {}, 0)).toEqual({ hasPrevious: false, hasNext: false });
  });
  it('goes back to a fresh first page', () => {
    expect(previousPageCursor(info({}), 1)).toEqual({});
    expect(previousPageCursor(info({}), 3)).toEqual({ before: 's' });
  });
});

describe('pager positions', () => {
  const info = { hasNextPage: true, hasPreviousPage: false, startCursor: 's1', endCursor: 'e1' };

  it('start a new listing at page one, without the old cursor', () => {
    const onPage3 = { key: 'HOSTNAME/ASC', cursor: { after: 'e2' }, index: 2 };
    expect(positionFor(onPage3, 'HOSTNAME/ASC')).toBe(onPage3);
    expect(positionFor(onPage3, 'CPU/DESC')).toEqual({ key: 'CPU/DESC', cursor: {}, index: 0 });
  });

  it('move forward and back within a listing', () => {
    const first = positionFor({ key: 'k', cursor: {}, index: 0 }, 'k');
    const second = nextPosition(first, info);
    expect(second).toEqual({ key: 'k', cursor: { after: 'e1' }, index: 1 });
    expect(previousPosition(second, { ...info, hasPreviousPage: true })).toEqual({ key: 'k', cursor: {}, index: 0 });
    const third = nextPosition(second, { ...info, endCursor: 'e2' });
    expect(previousPosition(third, { ...info, startCursor: 's3' })).toEqual({ key: 'k', cursor: { before: 's3' }, index: 1 });
  });
});
