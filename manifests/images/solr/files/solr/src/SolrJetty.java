/*
 * clusterbot's Jetty launcher for Solr 9.10.1, written for the clusterbot solr image.
 *
 * Solr's distribution starts Jetty with start.jar, server/etc/jetty*.xml and the solr-webapp's web.xml; none of
 * those are on Maven Central. This class wires the same pieces in code, on one flat classpath (/opt/solr/lib):
 *  - an HTTP/1.1 + HTTP/2 cleartext connector on jetty.port (Solr's nodes talk to each other over h2c);
 *  - the /solr context with what web.xml declares: the CoreContainerProvider listener, the SolrDispatchFilter
 *    on /* and a 404 fall-through servlet;
 *  - what jetty.xml adds: /api/* rewritten to the v2 API (/solr/____v2), "/" redirected to /solr/, gzip.
 * Settings come from system properties, as with bin/solr: solr.solr.home, zkHost, host, jetty.port,
 * solr.default.confdir, solr.log.dir, createZkChroot.
 */
import java.io.IOException;
import java.util.EnumSet;
import javax.servlet.DispatcherType;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.apache.solr.servlet.CoreContainerProvider;
import org.apache.solr.servlet.SolrDispatchFilter;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.rewrite.handler.RedirectRegexRule;
import org.eclipse.jetty.rewrite.handler.RewriteHandler;
import org.eclipse.jetty.rewrite.handler.RewritePatternRule;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.StatisticsHandler;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.FilterHolder;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

public final class SolrJetty {
  /** Answers what the dispatch filter passes on: there is no admin UI to serve. */
  public static final class NotFound extends HttpServlet {
    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.sendError(404, "Not found (this Solr is assembled from Maven Central jars and has no admin UI; use the HTTP API)");
    }
  }

  public static void main(String[] args) throws Exception {
    int port = Integer.getInteger("jetty.port", 8983);
    System.setProperty("jetty.port", String.valueOf(port));

    QueuedThreadPool threads = new QueuedThreadPool(Integer.getInteger("solr.jetty.threads.max", 10000),
        Integer.getInteger("solr.jetty.threads.min", 10));
    threads.setName("qtp-solr");
    Server server = new Server(threads);

    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setRequestHeaderSize(Integer.getInteger("solr.jetty.request.header.size", 8192));
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http), new HTTP2CServerConnectionFactory(http));
    connector.setHost(System.getProperty("jetty.host", "0.0.0.0"));
    connector.setPort(port);
    connector.setIdleTimeout(Long.getLong("solr.jetty.http.idleTimeout", 120000L));
    server.addConnector(connector);

    ServletContextHandler solr = new ServletContextHandler(ServletContextHandler.SESSIONS);
    solr.setContextPath("/solr");
    solr.addEventListener(new CoreContainerProvider());
    FilterHolder dispatch = new FilterHolder(SolrDispatchFilter.class);
    dispatch.setName("SolrRequestFilter");
    solr.addFilter(dispatch, "/*", EnumSet.of(DispatcherType.REQUEST));
    solr.addServlet(NotFound.class, "/");

    RewriteHandler rewrite = new RewriteHandler();
    rewrite.setRewriteRequestURI(true);
    rewrite.setRewritePathInfo(false);
    rewrite.setOriginalPathAttribute("requestedPath");
    RedirectRegexRule root = new RedirectRegexRule("^/$", "/solr/");
    rewrite.addRule(root);
    rewrite.addRule(new RewritePatternRule("/api/*", "/solr/____v2"));
    rewrite.setHandler(solr);

    GzipHandler gzip = new GzipHandler();
    gzip.setMinGzipSize(23);
    gzip.setIncludedMethods("GET");
    gzip.setHandler(rewrite);

    // graceful stop: in-flight requests finish (up to the stop timeout) when the container is stopped
    StatisticsHandler stats = new StatisticsHandler();
    stats.setHandler(gzip);
    server.setHandler(stats);
    server.setStopTimeout(15000);
    server.setStopAtShutdown(true);

    server.start();
    server.join();
  }
}
