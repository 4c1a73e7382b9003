// Findings of the job and queue analyses (severity, advice, the numbers
// behind them), and links to job pages.
import type { MouseEvent, ReactNode } from 'react';
import { useRouter } from '@tanstack/react-router';
import { Badge } from './ui';
import { humanizeEnum } from '../lib/format';
import { formatEvidence, jobPath, SEVERITY_TONE, worstFirst, type Severity } from '../lib/jobAnalysis';

export interface FindingView {
  heuristic: string;
  severity: Severity;
  advice: string;
  evidence: ReadonlyArray<{ key: string; value: number; unit: string }>;
}

export function SeverityBadge({ severity }: { severity: Severity }) {
  return (
    <Badge tone={SEVERITY_TONE[severity] ?? 'muted'} title={severity === 'NONE' ? 'Checked: healthy' : undefined}>
      {humanizeEnum(severity)}
    </Badge>
  );
}

/** Findings worst first, each with its advice and evidence; healthy ones (NONE) last and quieter. */
export function FindingList({ findings, testId }: { findings: readonly FindingView[]; testId?: string }) {
  if (!findings.length) return <div className="empty">Nothing to say yet: too little data in the window.</div>;
  return (
    <ul className="advice-list" data-testid={testId}>
      {worstFirst(findings).map((f) => (
        <li key={f.heuristic} className={`advice-item${f.severity === 'NONE' ? ' advice-none' : ''}`} data-testid="finding" data-heuristic={f.heuristic} data-severity={f.severity}>
          <div className="advice-head">
            <SeverityBadge severity={f.severity} /> <strong>{humanizeEnum(f.heuristic)}</strong>
          </div>
          <div className="advice-text" data-testid="finding-advice">
            {f.advice}
          </div>
          {f.evidence.length > 0 && (
            <dl className="evidence">
              {f.evidence.map((e) => (
                <div key={e.key} className="evidence-item">
                  <dt>{e.key}</dt>
                  <dd>{formatEvidence(e.value, e.unit)}</dd>
                </div>
              ))}
            </dl>
          )}
        </li>
      ))}
    </ul>
  );
}

/**
 * A link to a job's page. A plain anchor pushed through the router's history,
 * so it works whichever way the job route is declared.
 */
export function JobLink({ id, children }: { id: string; children: ReactNode }) {
  const router = useRouter();
  const href = jobPath(id);
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    router.history.push(href);
  };
  return (
    <a href={href} onClick={go} data-testid="job-link">
      {children}
    </a>
  );
}
