package org.jenkinsci.plugins.workflow.libs

import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

/** Look-alike of Jenkins' @Library('name@version') _ */
@Retention(RetentionPolicy.SOURCE)
@interface Library {
    String[] value()
}
