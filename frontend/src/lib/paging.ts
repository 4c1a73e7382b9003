// Relay cursor paging: forward with first/after, backward with last/before.

/** The Relay page info fields paging needs. */
export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export interface PageCursor {
  after?: string | null;
  before?: string | null;
}

/** The connection arguments for a page of `size` at the given cursor. */
export function pageVariables(size: number, cursor: PageCursor): { first?: number; after?: string; last?: number; before?: string } {
  if (cursor.before) return { last: size, before: cursor.before };
  if (cursor.after) return { first: size, after: cursor.after };
  return { first: size };
}

/** The cursor of the next page, or null when there is none. */
export function nextCursor(info: PageInfo | null | undefined): PageCursor | null {
  return info?.hasNextPage && info.endCursor ? { after: info.endCursor } : null;
}

/** The cursor of the previous page, or null when there is none. */
export function previousCursor(info: PageInfo | null | undefined): PageCursor | null {
  return info?.hasPreviousPage && info.startCursor ? { before: info.startCursor } : null;
}

/**
 * Whether Previous/Next are possible. The Relay spec lets a server answer
 * hasPreviousPage=false when paging forward and hasNextPage=false when paging
 * backward, so the page index and the cursor we came with count too.
 */
export function pagerState(info: PageInfo | null | undefined, cursor: PageCursor, pageIndex: number): { hasPrevious: boolean; hasNext: boolean } {
  return {
    hasPrevious: !!info?.startCursor && (pageIndex > 0 || !!info.hasPreviousPage),
    hasNext: !!info?.endCursor && (!!info.hasNextPage || !!cursor.before),
  };
}

/** The cursor for going one page back from `pageIndex`: page 0 is fetched afresh. */
export function previousPageCursor(info: PageInfo | null | undefined, pageIndex: number): PageCursor {
  if (pageIndex <= 1 || !info?.startCursor) return {};
  return { before: info.startCursor };
}

/**
 * Where a pager stands in one listing. `key` names the listing (its filters and
 * ordering): a cursor only means something in the listing that made it, and the
 * server refuses a cursor made under another ordering.
 */
export interface PagerPosition {
  key: string;
  cursor: PageCursor;
  index: number;
}

/**
 * The position to use for listing `key`: the stored one if it belongs to that
 * listing, else page one. Deriving it during render (instead of resetting the
 * cursor in an effect after a filter changed) means the first request of a new
 * listing never carries the old listing's cursor.
 */
export function positionFor(stored: PagerPosition, key: string): PagerPosition {
  return stored.key === key ? stored : { key, cursor: {}, index: 0 };
}

/** The position one page after `at`, given the page info of the page shown. */
export function nextPosition(at: PagerPosition, info: PageInfo | null | undefined): PagerPosition {
  return { key: at.key, cursor: nextCursor(info) ?? {}, index: at.index + 1 };
}

/** The position one page before `at`, given the page info of the page shown. */
export function previousPosition(at: PagerPosition, info: PageInfo | null | undefined): PagerPosition {
  return { key: at.key, cursor: previousPageCursor(info, at.index), index: Math.max(0, at.index - 1) };
}
