/**
 * Examples for the help of commands that do not carry their own, by command path. finishProgram
 * adds them; test/unit/cli-standard.test.ts walks every command of the three CLIs and fails when
 * one has no example that runs it. Lines starting with "#" are comments.
 */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  // fuseml-installer
  'fuseml-installer': [
    'fuseml-installer extensions list',
    'fuseml-installer install --extensions mlflow,seldon-core --dry-run',
    'fuseml-installer install --extensions mlflow,seldon-core',
    'fuseml-installer status',
    '# change an installation: see what would change, apply it, go back',
    'fuseml-installer diff -e mlflow --set mlflow.host=mlflow.example.com',
    'fuseml-installer upgrade -e mlflow --set mlflow.host=mlflow.example.com',
    'fuseml-installer rollback -e mlflow',
    'fuseml-installer uninstall --extensions seldon-core',
    '# do the install records, helm, the cluster and the registry agree? (exit 1 on drift; --fix repairs)',
    'fuseml-installer doctor',
  ],
  'fuseml-installer extensions': [
    'fuseml-installer extensions list',
    '# FuseML-compatible form',
    'fuseml-installer extensions --add mlflow,seldon-core --remove kserve --list',
  ],
  'fuseml-installer extensions list': ['fuseml-installer extensions list', 'fuseml-installer extensions list -o json'],
  'fuseml-installer extensions describe': [
    'fuseml-installer extensions describe mlflow',
    '# the parameters only, for a script',
    'fuseml-installer extensions describe mlflow -o json',
  ],
  'fuseml-installer extensions validate': [
    '# every extension in the repository',
    'fuseml-installer extensions validate',
    '# one folder being written (a FuseML description.yaml folder works too)',
    'fuseml-installer extensions validate ./extensions/my-tool',
    '# in CI: warnings (near-miss file names, unused parameters, unpinned charts) fail too',
    'fuseml-installer extensions validate --strict ./extensions/my-tool',
  ],
  'fuseml-installer extensions init': [
    '# an upstream chart, pinned',
    'fuseml-installer extensions init my-tool --chart https://charts.example.com/my-tool --version 1.2.3',
    '# our own chart in chart/, written into ./extensions/my-tool',
    'fuseml-installer extensions init my-tool --from chart-dir --dir extensions/my-tool',
    'fuseml-installer extensions init my-tool --from manifests',
  ],
  'fuseml-installer extensions unregister': [
    'fuseml-installer extensions unregister mlflow-dev',
    'fuseml-installer extensions unregister mlflow-dev --ignore-missing',
  ],

  // fuseml
  fuseml: [
    'fuseml extension list',
    'fuseml extension list --service-resource s3 -o yaml',
    'fuseml workflow resolve workflow.yaml --project team-a -o env --show-secrets',
  ],
  'fuseml extension': ['fuseml extension list', 'fuseml extension get mlflow'],
  'fuseml extension list': [
    'fuseml extension list',
    'fuseml extension list --product mlflow --version ">=1.19,<2"',
    'fuseml extension list --service-category model-store -o json',
  ],
  'fuseml extension get': ['fuseml extension get mlflow', '# credential values too (admin token)', 'fuseml extension get mlflow --show-secrets -o yaml'],
  'fuseml extension register': [
    'fuseml extension register -f mlflow-record.yaml',
    '# create or replace, only if nobody changed it since revision 3',
    'fuseml extension register -f mlflow-record.yaml --upsert --if-match 3',
  ],
  'fuseml extension add': ['fuseml extension add --id mlflow-dev --product mlflow --version 1.19.0 --zone dev'],
  'fuseml extension update': ['fuseml extension update mlflow-dev --zone prod', 'fuseml extension update mlflow-dev -c team=ml-platform'],
  'fuseml extension delete': ['fuseml extension delete mlflow-dev', 'fuseml extension delete mlflow-dev --if-match 4'],
  'fuseml extension service': ['fuseml extension service list mlflow-dev'],
  'fuseml extension service add': [
    'fuseml extension service add mlflow-dev --id mlflow-tracking --resource mlflow-tracking --category experiment-tracking',
  ],
  'fuseml extension service update': ['fuseml extension service update mlflow-dev mlflow-tracking --default true'],
  'fuseml extension service list': ['fuseml extension service list mlflow-dev'],
  'fuseml extension service get': ['fuseml extension service get mlflow-dev mlflow-store'],
  'fuseml extension service delete': ['fuseml extension service delete mlflow-dev mlflow-store'],
  'fuseml extension endpoint': ['fuseml extension endpoint list mlflow-dev mlflow-tracking'],
  'fuseml extension endpoint add': [
    'fuseml extension endpoint add mlflow-dev mlflow-tracking http://mlflow.mlflow:5000 --type internal -c MLFLOW_TRACKING_URI=http://mlflow.mlflow:5000',
  ],
  'fuseml extension endpoint update': ['fuseml extension endpoint update mlflow-dev mlflow-tracking http://mlflow.mlflow:5000 --type external'],
  'fuseml extension endpoint list': ['fuseml extension endpoint list mlflow-dev mlflow-tracking'],
  'fuseml extension endpoint get': ['fuseml extension endpoint get mlflow-dev mlflow-tracking http://mlflow.mlflow:5000'],
  'fuseml extension endpoint delete': ['fuseml extension endpoint delete mlflow-dev mlflow-tracking http://mlflow.mlflow:5000'],
  'fuseml extension credentials': ['fuseml extension credentials list mlflow-dev mlflow-store'],
  'fuseml extension credentials add': [
    '# values from the environment, never on the command line',
    'AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… fuseml extension credentials add mlflow-dev mlflow-store --id team-a --scope project --project team-a --from-env AWS_ACCESS_KEY_ID --from-env AWS_SECRET_ACCESS_KEY',
  ],
  'fuseml extension credentials update': ['fuseml extension credentials update mlflow-dev mlflow-store team-a --default'],
  'fuseml extension credentials list': ['fuseml extension credentials list mlflow-dev mlflow-store'],
  'fuseml extension credentials get': ['fuseml extension credentials get mlflow-dev mlflow-store team-a'],
  'fuseml extension credentials delete': ['fuseml extension credentials delete mlflow-dev mlflow-store team-a'],
  'fuseml config view': ['fuseml config view', 'fuseml config view -o json'],
  'fuseml config get-contexts': ['fuseml config get-contexts'],
  'fuseml config use-context': ['fuseml config use-context prod'],
  'fuseml config set-context': [
    '# the token is read from an environment variable, never from the command line',
    'FUSEML_TOKEN=… fuseml config set-context prod --registry-url https://registry.example.com --registry-token-env FUSEML_TOKEN --current',
  ],
  'fuseml workflow': ['fuseml workflow validate workflow.yaml', 'fuseml workflow resolve workflow.yaml --project team-a'],
  'fuseml workflow validate': ['fuseml workflow validate workflow.yaml'],
  'fuseml workflow resolve': [
    'fuseml workflow resolve workflow.yaml --project team-a',
    '# env lines for one step, for eval',
    'eval "$(fuseml workflow resolve workflow.yaml --project team-a --step trainer -o env --show-secrets)"',
  ],
  'fuseml workflow bind': [
    'fuseml workflow bind workflow.yaml --project team-a -n team-a-runs',
    'fuseml workflow bind workflow.yaml --project team-a -n team-a-runs --dry-run -o yaml',
  ],
  'fuseml workflow unbind': ['fuseml workflow unbind workflow.yaml -n team-a-runs', 'fuseml workflow unbind mlflow-e2e -n team-a-runs --step trainer'],

  // fuseml-registry
  'fuseml-registry': ['fuseml-registry serve', 'fuseml-registry serve --store kubernetes --store-namespace fuseml'],
  'fuseml-registry serve': [
    '# embedded SQLite under $XDG_DATA_HOME/fuseml, loopback only',
    'fuseml-registry serve',
    '# tokens and roles from a config file, reachable from other hosts',
    'fuseml-registry serve --config registry.yaml --host 0.0.0.0 --port 8000',
    '# replicas sharing the cluster store',
    'FUSEML_REGISTRY_KEY=… fuseml-registry serve --store kubernetes --store-namespace fuseml',
    '# probe every registered endpoint each 30 s (no credentials sent); `fuseml extension list` shows HEALTH',
    'fuseml-registry serve --probe-interval 30s --probe-timeout 3s',
  ],
  'fuseml-registry hash-token': ['printf %s "$TOKEN" | fuseml-registry hash-token'],
  'fuseml-registry doctor': [
    'fuseml-registry doctor',
    'fuseml-registry doctor --db /var/lib/fuseml/registry.db --key-file /etc/fuseml/registry.key',
    'FUSEML_REGISTRY_KEY=… fuseml-registry doctor --store kubernetes --store-namespace fuseml',
  ],
  'fuseml-registry rotate-key': [
    '# stop the server first; the new key file is created (0600) when it does not exist',
    'fuseml-registry rotate-key --db /var/lib/fuseml/registry.db --new-key-file /etc/fuseml/registry.key.new',
  ],
};
