{{/* The release's name for every object: the release name, with the chart's unless it already says so. */}}
{{- define "kubestream.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubestream.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kubestream.labels" -}}
{{ include "kubestream.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kubestream.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "kubestream.fullname" .) -}}
{{- end -}}

{{- define "kubestream.topologyFile" -}}
{{- if .Values.topology.text -}}
/etc/kubestream/topology/topology.yaml
{{- else if .Values.topology.path -}}
{{- .Values.topology.path -}}
{{- else -}}
{{- fail "set topology.text (helm --set-file topology.text=FILE) or topology.path (a file in the image)" -}}
{{- end -}}
{{- end -}}

{{/*
A topology value as kubestream would read it in the pod: a value that is one `${VAR}` or
`${VAR:-default}` takes the variable from .env (the chart's env values, and what the pod sets
itself), else its default.
*/}}
{{- define "kubestream.expand" -}}
{{- $value := toString .value -}}
{{- $variable := "^\\$\\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\\}$" -}}
{{- if regexMatch $variable $value -}}
{{- $name := regexReplaceAll $variable $value "${1}" -}}
{{- get .env $name | default (regexReplaceAll $variable $value "${2}") -}}
{{- else -}}
{{- $value -}}
{{- end -}}
{{- end -}}

{{/*
What the topology's Kubernetes sources may do, as YAML: `cluster` (ClusterRole rules), `namespaced`
(namespace → Role rules, for sources limited to namespaces) and `leases` (namespaces whose
Leases elect the replica that watches). Read from topology.text with its ${VAR}s expanded from
the env values; with topology.path, from rbac.clusterRules and rbac.leaseNamespaces.
*/}}
{{- define "kubestream.kubernetesAccess" -}}
{{- $cluster := list -}}
{{- $namespaced := dict -}}
{{- $leases := list -}}
{{- $perNode := eq .Values.workload "daemonset" -}}
{{- $env := merge (dict "POD_NAMESPACE" .Release.Namespace) (.Values.env | default dict) -}}
{{- if $perNode -}}
{{- $_ := set $env "NODE_NAME" "(each node's name)" -}}
{{- end -}}
{{- if .Values.topology.text -}}
{{- $doc := fromYaml .Values.topology.text -}}
{{- if hasKey $doc "Error" -}}
{{- fail (printf "topology.text is not YAML: %s" $doc.Error) -}}
{{- end -}}
{{- range $source := (($doc.spec).sources | default list) -}}
{{- with $source.kubernetes -}}
{{- $resource := include "kubestream.expand" (dict "value" .resource "env" $env) -}}
{{- $list := list "list" "watch" -}}
{{- $rules := list -}}
{{- if eq $resource "events.k8s.io" -}}
{{- $rules = append $rules (dict "apiGroups" (list "events.k8s.io") "resources" (list "events") "verbs" $list) -}}
{{- else -}}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list $resource) "verbs" $list) -}}
{{- end -}}
{{- if eq $resource "pods" -}}
{{/* A pod's Deployment is named by its ReplicaSet's owner. */}}
{{- $rules = append $rules (dict "apiGroups" (list "apps") "resources" (list "replicasets") "verbs" $list) -}}
{{- end -}}
{{- if and .namespaces (ne $resource "nodes") -}}
{{- range $written := .namespaces -}}
{{- $namespace := include "kubestream.expand" (dict "value" $written "env" $env) -}}
{{- $_ := set $namespaced $namespace (concat (get $namespaced $namespace | default list) $rules | uniq) -}}
{{- end -}}
{{- else -}}
{{- $cluster = concat $cluster $rules -}}
{{- end -}}
{{/* A lease unless turned off, or left unset for a source of one node (one watcher per node). */}}
{{- $election := .leaderElection -}}
{{- $node := include "kubestream.expand" (dict "value" (.node | default "") "env" $env) -}}
{{- $oneNode := and (not (hasKey . "leaderElection")) $node -}}
{{- if not (or (and (kindIs "bool" $election) (not $election)) $oneNode) -}}
{{- $namespace := $.Release.Namespace -}}
{{- if and (kindIs "map" $election) $election.namespace -}}
{{- $namespace = include "kubestream.expand" (dict "value" $election.namespace "env" $env) -}}
{{- end -}}
{{- $leases = append $leases $namespace -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- $cluster = .Values.rbac.clusterRules -}}
{{- $leases = .Values.rbac.leaseNamespaces -}}
{{- end -}}
{{- toYaml (dict "cluster" ($cluster | uniq) "namespaced" $namespaced "leases" ($leases | uniq)) -}}
{{- end -}}

{{- define "kubestream.readsKubernetes" -}}
{{- $access := fromYaml (include "kubestream.kubernetesAccess" .) -}}
{{- if or $access.cluster $access.namespaced $access.leases -}}true{{- end -}}
{{- end -}}

{{/* The pod of either workload: `node` is true for the DaemonSet's. */}}
{{- define "kubestream.podTemplate" -}}
{{- $root := .root -}}
{{- with $root -}}
metadata:
  labels:
    {{- include "kubestream.selectorLabels" . | nindent 4 }}
  annotations:
    # A changed topology or Kafka config rolls the pods.
    checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "kubestream.serviceAccountName" . }}
  automountServiceAccountToken: {{ include "kubestream.readsKubernetes" . | eq "true" }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    fsGroup: 1000
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: kubestream
      image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - run
        - {{ include "kubestream.topologyFile" . }}
        - --kafka-config=/etc/kubestream/kafka/kafka.yaml
        - --http-port={{ .Values.http.port }}
        - --state-dir=/var/lib/kubestream
        {{- if $.node }}
        - --ingest=only
        # One stable transactional id per node: a restarted pod fences its predecessor's transaction.
        - --instance-id={{ include "kubestream.fullname" . }}-$(NODE_NAME)
        {{- else }}
        - --ingest={{ .Values.ingest }}
        # Static group membership and the transactional id: stable across restarts of the pod.
        - --instance-id=$(POD_NAME)
        # Where the other replicas forward interactive queries: this pod's name under the headless Service.
        - --advertised-url=http://$(POD_NAME).{{ include "kubestream.fullname" . }}.$(POD_NAMESPACE).svc:{{ .Values.http.port }}
        {{- end }}
        {{- if .Values.http.tokenSecret }}
        - --http-token-file=/etc/kubestream/http/token
        {{- end }}
      env:
        - name: POD_NAME
          valueFrom: { fieldRef: { fieldPath: metadata.name } }
        # Leases live in the pod's namespace unless the topology says otherwise.
        - name: POD_NAMESPACE
          valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
        # Fewer glibc malloc arenas for librdkafka's threads: ~15 MB less anonymous memory (bench:memory).
        - name: MALLOC_ARENA_MAX
          value: "2"
        {{- if $.node }}
        - name: NODE_NAME
          valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
        - name: TRACER_SOCKET
          value: /run/tracer/tracer.sock
        {{- end }}
        {{- range $name, $value := .Values.env }}
        - name: {{ $name }}
          value: {{ $value | toString | quote }}
        {{- end }}
      ports:
        - { name: http, containerPort: {{ .Values.http.port }} }
      livenessProbe:
        httpGet: { path: /healthz, port: http }
        periodSeconds: 10
      # Not ready while its stores restore from their changelogs.
      readinessProbe:
        httpGet: { path: /readyz, port: http }
        periodSeconds: 5
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities: { drop: [ALL] }
      volumeMounts:
        - { name: config, mountPath: /etc/kubestream/kafka/kafka.yaml, subPath: kafka.yaml, readOnly: true }
        {{- if .Values.topology.text }}
        - { name: config, mountPath: /etc/kubestream/topology/topology.yaml, subPath: topology.yaml, readOnly: true }
        {{- end }}
        - { name: state, mountPath: /var/lib/kubestream }
        - { name: tmp, mountPath: /tmp }
        {{- if .Values.kafka.clusterCaSecret }}
        - { name: cluster-ca, mountPath: /etc/kafka/cluster-ca, readOnly: true }
        {{- end }}
        {{- if .Values.kafka.user.authentication }}
        - { name: kafka-user, mountPath: /etc/kafka/user, readOnly: true }
        {{- end }}
        {{- if .Values.http.tokenSecret }}
        - { name: http-token, mountPath: /etc/kubestream/http, readOnly: true }
        {{- end }}
        {{- if $.node }}
        - { name: tracer, mountPath: /run/tracer }
        {{- end }}
  volumes:
    - name: config
      configMap: { name: {{ include "kubestream.fullname" . }} }
    - name: tmp
      emptyDir: {}
    {{- if .Values.kafka.clusterCaSecret }}
    - name: cluster-ca
      secret: { secretName: {{ .Values.kafka.clusterCaSecret }}, items: [{ key: ca.crt, path: ca.crt }] }
    {{- end }}
    {{- if .Values.kafka.user.authentication }}
    - name: kafka-user
      secret:
        secretName: {{ required "kafka.user.name: the KafkaUser whose secret to mount" .Values.kafka.user.name }}
    {{- end }}
    {{- if .Values.http.tokenSecret }}
    - name: http-token
      secret: { secretName: {{ .Values.http.tokenSecret }}, items: [{ key: token, path: token }] }
    {{- end }}
    {{- if $.node }}
    - name: tracer
      hostPath: { path: {{ .Values.tracer.hostDir }}, type: Directory }
    # The last counters a node's tracer reported outlive the pod: neither counted twice nor lost.
    - name: state
      hostPath: { path: /var/lib/kubestream/{{ include "kubestream.fullname" . }}, type: DirectoryOrCreate }
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $.node }}
  # Every node has a tracer, control-plane nodes included.
  tolerations:
    {{- toYaml (.Values.tolerations | default (list (dict "operator" "Exists"))) | nindent 4 }}
  {{- else }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
{{- end -}}
{{- end -}}
