package configuration

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateNamesTheLine(t *testing.T) {
	t.Parallel()
	r := DefaultRegistry()
	cases := []struct {
		name, service, path, content string
		want                         []Problem
	}{
		{"hdfs-site ok", "HDFS", "etc/hadoop/hdfs-site.xml",
			"<?xml version=\"1.0\"?>\n<configuration>\n  <property>\n    <name>dfs.replication</name>\n    <value>3</value>\n  </property>\n  <property><name>dfs.ha.namenodes.ns1</name><value>nn1,nn2</value></property>\n</configuration>\n", nil},
		{"hdfs-site unknown key", "HDFS", "hdfs-site.xml",
			"<configuration>\n<property>\n<name>dfs.replicaton</name>\n<value>3</value>\n</property>\n</configuration>\n",
			[]Problem{{3, `unknown key "dfs.replicaton" for HDFS hdfs-site.xml`}}},
		{"xml unclosed tag", "HDFS", "hdfs-site.xml",
			"<configuration>\n<property>\n<name>dfs.replication</value>\n</property>\n</configuration>\n",
			[]Problem{{3, "XML syntax: element <name> closed by </value>"}}},
		{"xml truncated", "OOZIE", "oozie-site.xml", "<configuration>\n<property>\n",
			[]Problem{{3, "XML syntax: unexpected EOF"}}},
		{"xml duplicate", "HDFS", "hdfs-site.xml",
			"<configuration>\n<property><name>dfs.replication</name><value>3</value></property>\n<property><name>dfs.replication</name><value>2</value></property>\n</configuration>",
			[]Problem{{3, `property "dfs.replication" is set again (first on line 2)`}}},
		{"properties ok", "KAFKA", "config/server.properties",
			"# broker\nbroker.id=1\nlog.dirs = /data/1,\\\n  /data/2\nssl.keystore.location: /etc/k\n", nil},
		{"properties unknown and duplicate", "KAFKA", "server.properties",
			"broker.id=1\n\nnum.partitons=3\nbroker.id=2\n",
			[]Problem{{3, `unknown key "num.partitons" for KAFKA server.properties`}, {4, `key "broker.id" is set again (first on line 1)`}}},
		{"properties escaped separator", "ZOOKEEPER", "zoo.properties", "a\\=b=1\na\\=b=2\n",
			[]Problem{{2, `key "a=b" is set again (first on line 1)`}}},
		{"properties no key", "ZOOKEEPER", "zoo.properties", "a=1\n=2\n", []Problem{{2, "a property has no key"}}},
		{"yaml ok", "FLINK", "conf/flink-conf.yaml", "taskmanager.numberOfTaskSlots: 4\nparallelism.default: 8\n", nil},
		{"yaml syntax", "FLINK", "flink-conf.yaml", "taskmanager.numberOfTaskSlots: 4\nrest.port: 8081\nio.tmp.dirs: a: b\n",
			[]Problem{{3, "YAML syntax: mapping values are not allowed in this context"}}},
		{"yaml unknown", "FLINK", "flink-conf.yaml", "taskmanager.numberOfTaskSlots: 4\n\nparalelism.default: 8\n",
			[]Problem{{3, `unknown key "paralelism.default" for FLINK flink-conf.yaml`}}},
		{"json ok", "SPARK", "defaults.json", "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}\n}\n", nil},
		{"json syntax", "SPARK", "defaults.json", "{\n  \"a\": 1,\n  \"b\": 2,,\n}\n",
			[]Problem{{3, "JSON syntax: invalid character ',' looking for beginning of object key string"}}},
		{"json truncated", "SPARK", "defaults.json", "{\n  \"a\": 1,\n", []Problem{{3, "JSON syntax: unexpected end of the file"}}},
		{"plain is not parsed", "HDFS", "hadoop-env.sh", "export X=<\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, r.Validate(c.service, c.path, c.content))
		})
	}
	// A registry extended at start-up accepts the new keys.
	r.Register("SPARK", "defaults.json", Schema{Keys: []string{"a"}})
	require.Equal(t, []Problem{{3, `unknown key "b" for SPARK defaults.json`}},
		r.Validate("SPARK", "defaults.json", "{\n  \"a\": 1,\n  \"b\": {\"c\": [1, 2]}\n}\n"))
}
