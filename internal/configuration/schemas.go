package configuration

// DefaultRegistry returns the schemas Tesla knows out of the box: the site
// files of HDFS and YARN, Kafka's server.properties and Flink's
// flink-conf.yaml. Each schema lists the keys operators commonly set plus
// the prefixes of key families; a deployment extends it with Register (e.g.
// for a vendor's own keys) before the service starts.
func DefaultRegistry() *Registry {
	r := NewRegistry()
	hadoopCommon := []string{"hadoop.", "fs.", "io.", "ipc.", "net.topology.", "ha.", "dfs.client."}
	r.Register("HDFS", "core-site.xml", Schema{
		Keys: []string{"fs.defaultFS", "fs.trash.interval", "io.file.buffer.size", "hadoop.tmp.dir",
			"hadoop.security.authentication", "hadoop.security.authorization", "hadoop.proxyuser.hive.hosts",
			"net.topology.script.file.name", "ha.zookeeper.quorum", "ipc.client.connect.max.retries"},
		Prefixes: hadoopCommon,
	})
	r.Register("HDFS", "hdfs-site.xml", Schema{
		Keys: []string{"dfs.replication", "dfs.blocksize", "dfs.namenode.name.dir", "dfs.datanode.data.dir",
			"dfs.namenode.handler.count", "dfs.datanode.handler.count", "dfs.datanode.max.transfer.threads",
			"dfs.permissions.enabled", "dfs.namenode.http-address", "dfs.namenode.rpc-address",
			"dfs.datanode.du.reserved", "dfs.datanode.failed.volumes.tolerated", "dfs.hosts.exclude",
			"dfs.nameservices", "dfs.ha.automatic-failover.enabled", "dfs.journalnode.edits.dir",
			"dfs.namenode.shared.edits.dir", "dfs.webhdfs.enabled", "dfs.datanode.balance.bandwidthPerSec",
			"dfs.namenode.safemode.threshold-pct", "dfs.client.read.shortcircuit", "dfs.domain.socket.path"},
		// Per-nameservice and per-namenode keys carry the names in the key.
		Prefixes: []string{"dfs.ha.namenodes.", "dfs.namenode.rpc-address.", "dfs.namenode.http-address.",
			"dfs.client.failover.proxy.provider.", "dfs.ha.fencing."},
	})
	r.Register("YARN", "yarn-site.xml", Schema{
		Keys: []string{"yarn.resourcemanager.hostname", "yarn.resourcemanager.address",
			"yarn.resourcemanager.scheduler.class", "yarn.resourcemanager.ha.enabled",
			"yarn.resourcemanager.ha.rm-ids", "yarn.resourcemanager.zk-address",
			"yarn.nodemanager.resource.memory-mb", "yarn.nodemanager.resource.cpu-vcores",
			"yarn.nodemanager.local-dirs", "yarn.nodemanager.log-dirs", "yarn.nodemanager.aux-services",
			"yarn.nodemanager.vmem-check-enabled", "yarn.nodemanager.pmem-check-enabled",
			"yarn.scheduler.minimum-allocation-mb", "yarn.scheduler.maximum-allocation-mb",
			"yarn.scheduler.minimum-allocation-vcores", "yarn.scheduler.maximum-allocation-vcores",
			"yarn.log-aggregation-enable", "yarn.log-aggregation.retain-seconds", "yarn.nodemanager.remote-app-log-dir"},
		Prefixes: []string{"yarn.resourcemanager.address.", "yarn.resourcemanager.hostname.",
			"yarn.resourcemanager.webapp.address.", "yarn.nodemanager.aux-services."},
	})
	r.Register("YARN", "capacity-scheduler.xml", Schema{
		Prefixes: []string{"yarn.scheduler.capacity."},
	})
	r.Register("KAFKA", "server.properties", Schema{
		Keys: []string{"broker.id", "listeners", "advertised.listeners", "log.dirs", "num.partitions",
			"num.network.threads", "num.io.threads", "log.retention.hours", "log.retention.bytes",
			"log.segment.bytes", "zookeeper.connect", "default.replication.factor", "min.insync.replicas",
			"auto.create.topics.enable", "unclean.leader.election.enable", "socket.send.buffer.bytes",
			"socket.receive.buffer.bytes", "socket.request.max.bytes", "num.recovery.threads.per.data.dir",
			"offsets.topic.replication.factor", "transaction.state.log.replication.factor"},
		Prefixes: []string{"listener.security.protocol.map", "ssl.", "sasl.", "listener.name."},
	})
	r.Register("FLINK", "flink-conf.yaml", Schema{
		Keys: []string{"jobmanager.rpc.address", "jobmanager.rpc.port", "jobmanager.memory.process.size",
			"taskmanager.memory.process.size", "taskmanager.numberOfTaskSlots", "parallelism.default",
			"state.backend", "state.checkpoints.dir", "state.savepoints.dir", "execution.checkpointing.interval",
			"high-availability", "high-availability.storageDir", "high-availability.zookeeper.quorum",
			"rest.port", "rest.address", "io.tmp.dirs", "classloader.resolve-order"},
		Prefixes: []string{"metrics.reporter.", "security.", "env.java.opts"},
	})
	return r
}
