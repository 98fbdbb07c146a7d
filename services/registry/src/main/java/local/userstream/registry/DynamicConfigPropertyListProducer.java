package local.userstream.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.List;
import javax.enterprise.inject.Produces;
import javax.inject.Singleton;

/**
 * Stands in for the bean that apicurio-common-app-components-config-index's Quarkus build step generates
 * (its deployment artifact is not on Maven Central): the list of properties that may be changed at run
 * time through the registry's admin API. Empty here, so every property keeps its start-up value.
 */
public class DynamicConfigPropertyListProducer {
    @Produces
    @Singleton
    DynamicConfigPropertyList dynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(List.of());
    }
}
