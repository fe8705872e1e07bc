import { describe, expect, it } from 'vitest';
import { renderTable } from '../../src/cli/output.js';

const rows = [
  { name: 'mlflow', description: 'MLflow tracking server with an S3 artifact store: MinIO deployed by the s3 extension' },
  { name: 'gcs', description: 'short' },
];
const columns = [
  { header: 'name', get: (r: (typeof rows)[number]) => r.name },
  { header: 'description', get: (r: (typeof rows)[number]) => r.description },
];

describe('renderTable', () => {
  it('aligns columns; piped output (no width) is never cut', () => {
    expect(renderTable(rows, columns, undefined)).toBe(`NAME     DESCRIPTION\nmlflow   ${rows[0]?.description}\ngcs      short\n`);
  });

  it('on a terminal the last column is cut with … so no row is wider than the terminal', () => {
    const out = renderTable(rows, columns, 40);
    for (const line of out.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(40);
    expect(out).toContain('mlflow   MLflow tracking server with an…');
    expect(out).toContain('gcs      short');
  });

  it('a terminal too narrow for a useful last column: rows are left whole (the terminal wraps them)', () => {
    expect(renderTable(rows, columns, 20)).toBe(renderTable(rows, columns, undefined));
  });
});
