import { describe, expect, it } from 'vitest';
import {
  containsPrivateKey,
  isSecretFile,
  isSecretName,
  MASK,
  maskCommandLine,
  maskConfigText,
  maskEnv,
  maskLogText,
  maskUrlPasswords,
} from '../../src/domain/secrets.js';

describe('isSecretName', () => {
  it.each([
    'PASSWORD',
    'MYSQL_ROOT_PASSWORD',
    'DB_PASS',
    'PGPASSWORD',
    'HADOOP_CREDSTORE_PASSWORD',
    'ssl.keystore.password',
    'ssl.key.password',
    'javax.jdo.option.ConnectionPassword',
    'hive.server2.keystore.password',
    'password.encoder.secret',
    'SLACK_SIGNING_SECRET',
    'SLACK_BOT_TOKEN',
    'GITHUB_TOKEN',
    'auth_token',
    'REDIS_AUTH',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_ACCESS_KEY',
    'fs.s3a.secret.key',
    'fs.s3a.access.key',
    'api_key',
    'apiKey',
    'APIKEY',
    'KEY',
    'ssh.private.key',
    'ssl.keystore.key',
    'sasl.jaas.config',
    'listener.name.internal.plain.sasl.jaas.config',
    'db-passwd',
    'passphrase',
    'aws_credentials',
    'Secret',
  ])('%s is secret', (name) => expect(isSecretName(name)).toBe(true));

  it.each([
    'KEY_SERIALIZER',
    'key.serializer',
    'key.converter',
    'KAFKA_KEY_DESERIALIZER',
    'partition.key',
    'primary_key',
    'row.key',
    'public.key',
    'monkey',
    'keyspace',
    'author',
    'hbase.security.authentication',
    'hadoop.security.authorization',
    'dfs.block.access.token.enable',
    'yarn.resourcemanager.delegation.token.max-lifetime',
    'hadoop.security.credential.provider.path',
    'POSTGRES_PASSWORD_FILE',
    'hadoop.http.authentication.signature.secret.file',
    'hive.metastore.kerberos.principal',
    'dfs.namenode.keytab.file',
    'bypass',
    'PATH',
    'JAVA_HOME',
    'SERVER_JVMFLAGS',
    'KAFKA_CLUSTER_ID',
    'fs.defaultFS',
    'sasl.mechanism',
    'TOKEN_ENDPOINT',
    '',
    '...',
  ])('%j is not secret', (name) => expect(isSecretName(name)).toBe(false));
});

describe('maskEnv', () => {
  it('masks the values of secret-looking names and keeps everything else byte for byte', () => {
    const env = [
      'PATH=/usr/local/sbin:/usr/bin',
      'MYSQL_ROOT_PASSWORD=hunter2',
      'AWS_SECRET_ACCESS_KEY=abc/def=',
      'KAFKA_KEY_SERIALIZER=org.apache.kafka.common.serialization.StringSerializer',
      'EMPTY_PASSWORD=',
      'NOEQUALS',
      'JDBC_URL=jdbc:postgresql://app:s3cret@db:5432/x',
      'KAFKA_CLUSTER_ID=MkU3OEVBNTcwNTJENDM2Qg',
      'TOKEN=a=b=c',
    ];
    expect(maskEnv(env)).toEqual([
      'PATH=/usr/local/sbin:/usr/bin',
      `MYSQL_ROOT_PASSWORD=${MASK}`,
      `AWS_SECRET_ACCESS_KEY=${MASK}`,
      'KAFKA_KEY_SERIALIZER=org.apache.kafka.common.serialization.StringSerializer',
      'EMPTY_PASSWORD=',
      'NOEQUALS',
      `JDBC_URL=jdbc:postgresql://app:${MASK}@db:5432/x`,
      'KAFKA_CLUSTER_ID=MkU3OEVBNTcwNTJENDM2Qg',
      `TOKEN=${MASK}`,
    ]);
  });
});

describe('maskEnv: values of harmless names are command lines', () => {
  it('masks -D secrets inside *_OPTS and JAVA_TOOL_OPTIONS values, keeping the other flags', () => {
    expect(
      maskEnv([
        'HADOOP_OPTS=-Xmx1g -Dhadoop.security.keystore.password=hunter2 -Dfoo=bar',
        'KAFKA_OPTS="-Djavax.net.ssl.keyStorePassword=changeit"',
        'JAVA_TOOL_OPTIONS=-Dspring.datasource.password=pw --token abc',
        'SERVER_JVMFLAGS=-Xms64m',
      ]),
    ).toEqual([
      `HADOOP_OPTS=-Xmx1g -Dhadoop.security.keystore.password=${MASK} -Dfoo=bar`,
      `KAFKA_OPTS="-Djavax.net.ssl.keyStorePassword=${MASK}"`,
      `JAVA_TOOL_OPTIONS=-Dspring.datasource.password=${MASK} --token ${MASK}`,
      'SERVER_JVMFLAGS=-Xms64m',
    ]);
  });
});

describe('maskLogText: logs and command output', () => {
  it('masks key=value and key: value pairs in the middle of a line, quoted or not, and leaves the rest', () => {
    const log = [
      '2026-12-07 10:00:01 INFO  Connecting as user=bob password=hunter2, db=meta (retry 1)',
      '2026-12-07 10:00:02 WARN  auth failed: token: "abc def" for client_id=42',
      '{"level":"info","msg":"config","ssl.keystore.password":"changeit","port":9092}',
      '  sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required password="x";',
      'request {api_key: k-123, limit: 5}',
      'key.serializer=org.apache.kafka.common.serialization.StringSerializer partitions=3',
    ].join('\n');
    expect(maskLogText(log).split('\n')).toEqual([
      `2026-12-07 10:00:01 INFO  Connecting as user=bob password=${MASK}, db=meta (retry 1)`,
      `2026-12-07 10:00:02 WARN  auth failed: token: "${MASK}" for client_id=42`,
      `{"level":"info","msg":"config","ssl.keystore.password":"${MASK}","port":9092}`,
      `  sasl.jaas.config: ${MASK}`,
      `request {api_key: ${MASK}, limit: 5}`,
      'key.serializer=org.apache.kafka.common.serialization.StringSerializer partitions=3',
    ]);
  });

  it('masks ps and jcmd VM.command_line output, YAML blocks and URLs, and is idempotent', () => {
    const out = [
      '  81 hadoop java -Dhadoop.security.credstore.password=s3 -Dx=y org.apache.hadoop.Main',
      'jvm_args: -Djavax.net.ssl.trustStorePassword=changeit -Xmx512m',
      'db:',
      '  password: "p w"',
      'connect jdbc:postgresql://hive:pw@db:5432/metastore',
    ].join('\n');
    const masked = maskLogText(out);
    expect(masked).not.toMatch(/s3 |changeit|p w|:pw@/);
    expect(masked).toContain('-Dx=y org.apache.hadoop.Main');
    expect(masked).toContain('-Xmx512m');
    expect(maskLogText(masked)).toBe(masked);
  });
});

describe('maskUrlPasswords', () => {
  it('masks userinfo passwords and leaves host:port alone', () => {
    expect(maskUrlPasswords('see https://bob:pa55@example.com/x and hdfs://namenode:8020/hbase')).toBe(
      `see https://bob:${MASK}@example.com/x and hdfs://namenode:8020/hbase`,
    );
    expect(maskUrlPasswords('thrift://metastore:9083, spark://master:7077, http://user@host/')).toBe(
      'thrift://metastore:9083, spark://master:7077, http://user@host/',
    );
  });
});

describe('maskConfigText', () => {
  it('Hadoop XML: masks <value> of secret names, on one line or across lines, with a description between', () => {
    const xml = [
      '<configuration>',
      '<property><name>fs.defaultFS</name><value>hdfs://namenode:8020</value></property>',
      '<property><name>javax.jdo.option.ConnectionPassword</name><value>mine</value></property>',
      '<property>',
      '  <name>ssl.server.keystore.password</name>',
      '  <description>the store password</description>',
      '  <value>changeit</value>',
      '</property>',
      '<property><name>dfs.block.access.token.enable</name><value>true</value></property>',
      '<property><name>hadoop.security.credential.provider.path</name><value>jceks://file/etc/x.jceks</value></property>',
      '<property><name>empty.password</name><value></value></property>',
      '</configuration>',
    ].join('\n');
    const out = maskConfigText('/opt/hive/conf/hive-site.xml', xml);
    expect(out).toContain('<value>hdfs://namenode:8020</value>');
    expect(out).toContain(`<name>javax.jdo.option.ConnectionPassword</name><value>${MASK}</value>`);
    expect(out).toContain(`  <value>${MASK}</value>`);
    expect(out).toContain('<description>the store password</description>');
    expect(out).toContain('<value>true</value>');
    expect(out).toContain('<value>jceks://file/etc/x.jceks</value>');
    expect(out).toContain('<name>empty.password</name><value></value>');
    expect(out).not.toContain('mine');
    expect(out).not.toContain('changeit');
    expect(out.split('\n')).toHaveLength(xml.split('\n').length);
  });

  it('properties, key = value and key: value', () => {
    const text = [
      '# ssl.key.password=not-a-value-but-a-comment',
      'ssl.keystore.password=changeit',
      'ssl.key.password = k3y',
      'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="b";',
      'key.serializer=org.apache.kafka.common.serialization.StringSerializer',
      'listeners=INTERNAL://0.0.0.0:9092',
      'ssl.truststore.password=',
      'secret:plain',
    ].join('\n');
    expect(maskConfigText('server.properties', text).split('\n')).toEqual([
      '# ssl.key.password=not-a-value-but-a-comment',
      `ssl.keystore.password=${MASK}`,
      `ssl.key.password = ${MASK}`,
      `sasl.jaas.config=${MASK}`,
      'key.serializer=org.apache.kafka.common.serialization.StringSerializer',
      'listeners=INTERNAL://0.0.0.0:9092',
      'ssl.truststore.password=',
      `secret:${MASK}`,
    ]);
  });

  it('YAML: nested keys, list items, quoted values; structure and harmless keys stay', () => {
    const yaml = [
      'db:',
      '  user: app',
      '  password: "s3 cret" # inline',
      "  token: 'abc'",
      '  credentials:',
      '    - apiKey: xyz',
      '  key.converter: json',
      '  tokenTtl: 60',
    ].join('\n');
    expect(maskConfigText('app.yaml', yaml).split('\n')).toEqual([
      'db:',
      '  user: app',
      `  password: "${MASK}" # inline`,
      `  token: '${MASK}'`,
      '  credentials:',
      `    - apiKey: ${MASK}`,
      '  key.converter: json',
      '  tokenTtl: 60',
    ]);
  });

  it('shell: export K=V and quoted -D flags inside an unrelated variable', () => {
    const sh = [
      'export HADOOP_CREDSTORE_PASSWORD=none',
      'export JAVA_HOME=/usr/lib/jvm/java-17',
      'KAFKA_OPTS="-Xmx1g -Djavax.net.ssl.keyStorePassword=changeit -Dfoo=bar"',
    ].join('\n');
    expect(maskConfigText('hadoop-env.sh', sh).split('\n')).toEqual([
      `export HADOOP_CREDSTORE_PASSWORD=${MASK}`,
      'export JAVA_HOME=/usr/lib/jvm/java-17',
      `KAFKA_OPTS="-Xmx1g -Djavax.net.ssl.keyStorePassword=${MASK} -Dfoo=bar"`,
    ]);
  });

  it('JSON on one line and XML elements', () => {
    expect(maskConfigText('x.json', '{"user": "a", "password": "b\\"c", "port": 1, "token": ""}')).toBe(
      `{"user": "a", "password": "${MASK}", "port": 1, "token": ""}`,
    );
    expect(
      maskConfigText('settings.xml', '<server><id>x</id><username>u</username><password>p</password></server>'),
    ).toBe(`<server><id>x</id><username>u</username><password>${MASK}</password></server>`);
  });

  it('URL userinfo in any config', () => {
    expect(maskConfigText('hive-site.xml', '<value>jdbc:mysql://hive:pw@db/metastore</value>')).toBe(
      `<value>jdbc:mysql://hive:${MASK}@db/metastore</value>`,
    );
  });

  it('is idempotent and leaves a real template config untouched', () => {
    const zoo =
      'tickTime=2000\ndataDir=/var/lib/zookeeper\nclientPort=2181\n4lw.commands.whitelist=*\nserver.1=zk-1:2888:3888\n';
    expect(maskConfigText('zoo.cfg', zoo)).toBe(zoo);
    const once = maskConfigText('a.properties', 'a.password=x\nb=1\n');
    expect(maskConfigText('a.properties', once)).toBe(once);
  });
});

describe('maskCommandLine', () => {
  it('masks -D properties and --options of secret names, as in ps output and jcmd VM.command_line', () => {
    const ps =
      '  81 nobody java -Dcb.test.password=hunter2 -Dzookeeper.log.dir=/var/log -cp /a.jar Main --token abc --db-password=x --password-file /run/pw --port 2181';
    expect(maskCommandLine(ps)).toBe(
      `  81 nobody java -Dcb.test.password=${MASK} -Dzookeeper.log.dir=/var/log -cp /a.jar Main --token ${MASK} --db-password=${MASK} --password-file /run/pw --port 2181`,
    );
  });
});

describe('isSecretFile', () => {
  it.each([
    '/opt/kafka/config/kafka.server.keystore.jks',
    '/etc/security/keytabs/nn.service.keytab',
    'client.p12',
    'tls.key',
    'server.pem',
    'x.pfx',
    '/etc/hadoop/creds.jceks',
    '/home/u/.ssh/id_rsa',
    '/etc/nginx/.htpasswd',
    '/root/.pgpass',
    '/root/.aws/credentials',
    'db-password.txt',
    'app.secrets.yaml',
  ])('%s is a secret file', (p) => expect(isSecretFile(p)).toBe(true));

  it.each([
    '/opt/hadoop/etc/hadoop/core-site.xml',
    '/etc/zookeeper/conf/zoo.cfg',
    'log4j2.properties',
    'server.properties',
    'keys.txt.gz.bak.log',
    '/var/log/zookeeper/zookeeper.log',
    'monkey.conf',
    'key-serializer.conf',
    'public.crt',
    'ssl-client.xml',
  ])('%s is not a secret file', (p) => expect(isSecretFile(p)).toBe(false));

  it('containsPrivateKey tells a private key from a certificate', () => {
    expect(containsPrivateKey('-----BEGIN PRIVATE KEY-----\nMII...')).toBe(true);
    expect(containsPrivateKey('-----BEGIN RSA PRIVATE KEY-----\nMII...')).toBe(true);
    expect(containsPrivateKey('-----BEGIN CERTIFICATE-----\nMII...')).toBe(false);
  });
});
