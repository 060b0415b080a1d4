{{/*
Names and labels.
*/}}
{{- define "dunning.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "dunning.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* dunning.selectorLabels: (dict "root" $ "component" "worker") */}}
{{- define "dunning.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dunning.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* dunning.labels: (dict "root" $ "component" "worker") */}}
{{- define "dunning.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dunning.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: dunning
{{- end }}

{{- define "dunning.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dunning.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
dunning.image: the image, pinned. A digest wins over the tag; the tag
defaults to the chart's appVersion; "latest" is refused.
*/}}
{{- define "dunning.image" -}}
{{- $img := .Values.image }}
{{- if $img.digest }}
{{- if not (hasPrefix "sha256:" $img.digest) }}
{{- fail (printf "image.digest %q: want sha256:<hex>" $img.digest) }}
{{- end }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- $tag := toString (default .Chart.AppVersion $img.tag) }}
{{- if eq $tag "latest" }}
{{- fail "image.tag: latest is not a version; pin a tag (or image.digest) so every replica runs the same code" }}
{{- end }}
{{- printf "%s:%s" $img.repository $tag }}
{{- end }}
{{- end }}

{{/*
Secrets. The chart never creates a Secret and never puts a secret's value
in a manifest: each of these variables comes from a key of the same name in
an existing Secret (existingSecret, or the component's own). Setting one of
them in env fails the render.
*/}}
{{- define "dunning.secretVariables" -}}
{{- toJson (dict
  "worker" (list "DATABASE_URL" "DUNNING_ENCRYPTION_KEYS" "TEMPORAL_API_KEY" "TWILIO_AUTH_TOKEN" "ALIYUN_ACCESS_KEY_ID" "ALIYUN_ACCESS_KEY_SECRET" "SMTP_URL")
  "api" (list "DATABASE_URL" "DUNNING_ENCRYPTION_KEYS" "TEMPORAL_API_KEY" "API_TOKEN" "INBOUND_TOKEN" "TWILIO_AUTH_TOKEN" "CODEC_TOKEN")
  "migrate" (list "DATABASE_URL")
  "forbidden" (list "POSTGRES_PASSWORD" "TEMPORAL_TLS_CLIENT_KEY_DATA" "TEMPORAL_TLS_CLIENT_CERT_DATA" "TEMPORAL_CODEC_AUTH")
) }}
{{- end }}

{{/*
dunning.env: (dict "root" $ "component" "worker"|"api"|"migrate" "env" <the component's env map>
"secretName" <Secret> "reserved" <names the template sets itself> "memoryLimit" <resources.limits.memory>)
renders the container's env: the global env merged with the component's
(the component wins; empty values are left out, because the Temporal SDK's
envconfig treats a variable set to "" as set: an empty
TEMPORAL_TLS_SERVER_NAME would turn TLS on), then the secret variables as
secretKeyRefs, then the Temporal certificate paths.
*/}}
{{- define "dunning.env" -}}
{{- $root := .root }}
{{- $v := $root.Values }}
{{- $secretVars := include "dunning.secretVariables" $root | fromJson }}
{{- $allSecret := concat (get $secretVars "worker") (get $secretVars "api") (get $secretVars "forbidden") }}
{{- $env := merge (deepCopy (.env | default dict)) (deepCopy ($v.env | default dict)) }}
{{- range $name, $value := $env }}
{{- if has $name $allSecret }}
{{- fail (printf "%s is a secret: put it in the Secret named by existingSecret (key %s), never in env" $name $name) }}
{{- end }}
{{- if has $name (concat $.reserved (include "dunning.temporalPathVariables" $root | fromJsonArray)) }}
{{- fail (printf "%s is set by the chart for the %s; see values.yaml for the setting that controls it" $name $.component) }}
{{- end }}
{{- if not (kindIs "string" $value) }}
{{- if or (kindIs "map" $value) (kindIs "slice" $value) }}
{{- fail (printf "env %s: want a string" $name) }}
{{- end }}
{{- end }}
{{- $s := toString $value }}
{{- if and (ne $s "") (ne $s "<nil>") }}
- name: {{ $name }}
  value: {{ $s | quote }}
{{- end }}
{{- end }}
{{- if and .memoryLimit (not (hasKey $env "GOMEMLIMIT")) }}
{{- /* The Go GC works harder as the heap nears the container's limit, rather than be killed. */}}
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      containerName: {{ .component }}
      resource: limits.memory
{{- end }}
{{- $secretName := .secretName }}
{{- range $name := get $secretVars .component }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secretName }}
      key: {{ $name }}
      {{- if eq $name "DATABASE_URL" }}
      optional: false
      {{- else if and (eq $name "TEMPORAL_API_KEY") (eq $v.temporal.auth "apiKey") }}
      optional: false
      {{- else }}
      optional: true
      {{- end }}
{{- end }}
{{- if ne .component "migrate" }}
{{- if eq $v.temporal.auth "mtls" }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /var/run/secrets/dunning/temporal-tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /var/run/secrets/dunning/temporal-tls/tls.key
{{- end }}
{{- if $v.temporal.serverCA.secretName }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /var/run/secrets/dunning/temporal-ca/{{ $v.temporal.serverCA.key }}
{{- end }}
{{- end }}
{{- end }}

{{/* dunning.temporalPathVariables: the TEMPORAL_TLS_* paths the chart sets from temporal.*, as JSON. */}}
{{- define "dunning.temporalPathVariables" -}}
{{- $names := list }}
{{- if eq .Values.temporal.auth "mtls" }}
{{- $names = concat $names (list "TEMPORAL_TLS_CLIENT_CERT_PATH" "TEMPORAL_TLS_CLIENT_KEY_PATH") }}
{{- end }}
{{- if .Values.temporal.serverCA.secretName }}
{{- $names = append $names "TEMPORAL_TLS_SERVER_CA_CERT_PATH" }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/* dunning.temporalVolumeMounts and dunning.temporalVolumes: the mTLS client certificate and the server's CA. */}}
{{- define "dunning.temporalVolumeMounts" -}}
{{- if eq .Values.temporal.auth "mtls" }}
- name: temporal-tls
  mountPath: /var/run/secrets/dunning/temporal-tls
  readOnly: true
{{- end }}
{{- if .Values.temporal.serverCA.secretName }}
- name: temporal-ca
  mountPath: /var/run/secrets/dunning/temporal-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "dunning.temporalVolumes" -}}
{{- if eq .Values.temporal.auth "mtls" }}
- name: temporal-tls
  secret:
    secretName: {{ required "temporal.mtls.secretName: the kubernetes.io/tls Secret with the client certificate (tls.crt, tls.key)" .Values.temporal.mtls.secretName }}
    defaultMode: 288 # 0440: owner root, group fsGroup
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
{{- end }}
{{- if .Values.temporal.serverCA.secretName }}
- name: temporal-ca
  secret:
    secretName: {{ .Values.temporal.serverCA.secretName }}
    defaultMode: 288
    items:
      - {key: {{ .Values.temporal.serverCA.key }}, path: {{ .Values.temporal.serverCA.key }}}
{{- end }}
{{- end }}

{{/* dunning.checkValues fails the render on settings that cannot work. */}}
{{- define "dunning.checkValues" -}}
{{- if not (has .Values.temporal.auth (list "none" "apiKey" "mtls")) }}
{{- fail (printf "temporal.auth %q: want none, apiKey or mtls" .Values.temporal.auth) }}
{{- end }}
{{- if not .Values.existingSecret }}
{{- fail "existingSecret: name the Secret holding DATABASE_URL and the other secrets (see values.yaml); the chart never creates one" }}
{{- end }}
{{- $stop := int (include "dunning.workerStopTimeoutSeconds" .) }}
{{- if le (int .Values.worker.terminationGracePeriodSeconds) (add $stop 5) }}
{{- fail (printf "worker.terminationGracePeriodSeconds must exceed the worker's stop timeout (%ds) plus the metrics flush (5s)" $stop) }}
{{- end }}
{{- end }}

{{/*
dunning.workerStopTimeoutSeconds is workerStopTimeout in worker/main.go: how
long a stopping worker lets running activities finish. The chartcheck test
fails when the two differ.
*/}}
{{- define "dunning.workerStopTimeoutSeconds" -}}30{{- end }}

{{/* dunning.podSecurityContext and dunning.containerSecurityContext: the image is distroless, nonroot (uid 65532). */}}
{{- define "dunning.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "dunning.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end }}

{{/* dunning.spread: topology spread over nodes and zones, best effort. (dict "root" $ "component" "worker") */}}
{{- define "dunning.spread" -}}
{{- if .root.Values.spreadAcrossNodes }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "dunning.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "dunning.selectorLabels" . | nindent 8 }}
{{- end }}
{{- end }}
