import { describe, expect, it } from 'vitest';
import { nextCursor, pagerState, pageVariables, previousCursor, previousPageCursor } from '../src/lib/paging';

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
