{{- define "mlflow.fullname" -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Names of the MinIO sub-chart's objects (same rule as minio.fullname). */}}
{{- define "mlflow.minioName" -}}
{{- default (printf "%s-minio" .Release.Name) .Values.minio.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mlflow.selectorLabels" -}}
app.kubernetes.io/name: mlflow
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mlflow.labels" -}}
{{ include "mlflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fuseml
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
