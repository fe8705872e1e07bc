{{/* Name of every object of this chart: "<release>-minio" unless fullnameOverride is set. */}}
{{- define "minio.fullname" -}}
{{- default (printf "%s-minio" .Release.Name) .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */}}
{{- define "minio.secretName" -}}
{{- include "minio.fullname" . -}}
{{- end -}}

{{- define "minio.selectorLabels" -}}
app.kubernetes.io/name: minio
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "minio.labels" -}}
{{ include "minio.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fuseml
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
