# clusterbot overlay for hbase-shell 2.4.17 running against HBase 2.5 jars: the 2.4 `trace` command
# drives HTrace (org.apache.hadoop.hbase.trace.SpanReceiverHost), which HBase 2.5 removed in favour of
# OpenTelemetry. This keeps the command loadable (and the rest of the shell usable) and says so.
module Shell
  module Commands
    class Trace < Command
      def help
        <<-EOF
Not available in this image: HBase 2.5 traces with OpenTelemetry (configure the OpenTelemetry
Java agent on the servers); the HTrace-based shell command of hbase-shell 2.4 cannot run here.
EOF
      end

      def command(_startstop = 'status', _spanname = 'HBaseShell')
        puts 'trace: not available (HTrace was removed in HBase 2.5)'
        false
      end
    end
  end
end
